//! Fuzz target: decode state JSON against a type from the table; anything
//! that decodes must re-encode and decode to an equal value (except
//! infinities, which decode from strings but have no JSON encoding).

#![no_main]

mod common;

use dataplatform::value::{decode_json, encode_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ty, payload)) = common::pick(data) else {
        return;
    };
    if let Ok(value) = decode_json(payload, &ty) {
        let bytes = match encode_json(&value, &ty) {
            Ok(bytes) => bytes,
            Err(e) if e.message.contains("infinity") => return,
            Err(e) => panic!("decoded value does not re-encode: {e}"),
        };
        assert_eq!(decode_json(&bytes, &ty), Ok(value));
    }
});
