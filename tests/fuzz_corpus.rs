//! Replays the fuzz seed corpus through the fuzz targets' round-trip checks
//! on stable Rust, so the seeds and the type table stay valid without
//! cargo-fuzz.

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;

use std::fs;
use std::path::Path;

use dataplatform::value::{decode_json, decode_msgpack, encode_json, encode_msgpack};

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(e.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

#[test]
fn msgpack_seeds_decode_and_round_trip() {
    for (name, data) in seeds("msgpack_decode") {
        let (ty, payload) = common::pick(&data).unwrap_or_else(|| panic!("{name}: empty"));
        let value = decode_msgpack(payload, &ty).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = encode_msgpack(&value, &ty).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decode_msgpack(&bytes, &ty), Ok(value), "{name}");
    }
}

#[test]
fn json_seeds_decode_and_round_trip() {
    for (name, data) in seeds("json_decode") {
        let (ty, payload) = common::pick(&data).unwrap_or_else(|| panic!("{name}: empty"));
        let value = decode_json(payload, &ty).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = encode_json(&value, &ty).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decode_json(&bytes, &ty), Ok(value), "{name}");
    }
}
