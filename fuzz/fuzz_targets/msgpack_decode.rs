//! Fuzz target: decode msgpack against a type from the table; anything
//! that decodes must re-encode and decode to an equal value.

#![no_main]

mod common;

use dataplatform::value::{decode_msgpack, encode_msgpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ty, payload)) = common::pick(data) else {
        return;
    };
    if let Ok(value) = decode_msgpack(payload, &ty) {
        let bytes = match encode_msgpack(&value, &ty) {
            Ok(bytes) => bytes,
            Err(e) => panic!("decoded value does not re-encode: {e}"),
        };
        assert_eq!(decode_msgpack(&bytes, &ty), Ok(value));
    }
});
