//! Table-driven unit tests of the msgpack codec (spec vectors first).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|_| panic!("bad hex {b}")))
        .collect()
}

fn num(s: &str) -> Value {
    Value::number(Number::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn spec_object_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("name", Type::String),
        ("size", Type::Number),
    ])
}

/// Vectors that must hold in both directions.
fn both_ways() -> Vec<(Type, Value, &'static str)> {
    vec![
        (
            spec_object_type(),
            Value::object([
                ("id", Value::Unknown),
                ("name", Value::string("hello")),
                ("size", Value::Null),
            ]),
            "83 a2 69 64 d4 00 00 a4 6e 61 6d 65 a5 68 65 6c 6c 6f a4 73 69 7a 65 c0",
        ),
        (Type::Number, Value::number(1), "01"),
        (Type::Number, Value::number(-1), "ff"),
        (Type::Number, Value::number(300), "cd 01 2c"),
        (Type::Number, num("1.5"), "cb 3f f8 00 00 00 00 00 00"),
        (Type::Number, Value::number(u64::MAX), "cf ff ff ff ff ff ff ff ff"),
        (Type::Number, Value::number(i64::MIN), "d3 80 00 00 00 00 00 00 00"),
        (Type::Number, num("-33"), "d0 df"),
        (
            Type::Number,
            num("123456789012345678901234567890"),
            "be 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30",
        ),
        (Type::Number, num("0.1"), "a3 30 2e 31"),
        (Type::Number, num("1e2000"), "a6 31 65 32 30 30 30"),
        (Type::Number, Value::number(Number::PosInf), "cb 7f f0 00 00 00 00 00 00"),
        (Type::Number, Value::number(Number::NegInf), "cb ff f0 00 00 00 00 00 00"),
        (
            Type::Dynamic,
            Value::dynamic(Type::String, Value::string("hi")),
            "92 c4 08 22 73 74 72 69 6e 67 22 a2 68 69",
        ),
        (Type::Dynamic, Value::Null, "c0"),
        (Type::Dynamic, Value::Unknown, "d4 00 00"),
        (
            Type::Dynamic,
            Value::dynamic(Type::String, Value::Null),
            "92 c4 08 22 73 74 72 69 6e 67 22 c0",
        ),
        (Type::Bool, Value::bool(true), "c3"),
        (Type::String, Value::string(""), "a0"),
        (
            Type::list(Type::String),
            Value::list(vec![Value::string("a"), Value::Null, Value::Unknown]),
            "93 a1 61 c0 d4 00 00",
        ),
        (Type::set(Type::Bool), Value::set(vec![]), "90"),
        (
            Type::tuple([Type::Bool, Type::Number]),
            Value::tuple(vec![Value::bool(false), Value::number(2)]),
            "92 c2 02",
        ),
        (
            Type::map(Type::Number),
            Value::map([("b", Value::number(2)), ("a", Value::number(1))]),
            "82 a1 61 01 a1 62 02",
        ),
        (Type::object(Vec::<(String, Type)>::new()), Value::object(Vec::<(String, Value)>::new()), "80"),
    ]
}

#[test]
fn vectors_encode_and_decode() {
    for (ty, value, bytes) in both_ways() {
        let bytes = hex(bytes);
        assert_eq!(
            encode_msgpack(&value, &ty),
            Ok(bytes.clone()),
            "encode {value:?}"
        );
        assert_eq!(
            decode_msgpack(&bytes, &ty),
            Ok(value),
            "decode {bytes:02x?}"
        );
    }
}

#[test]
fn decode_only_vectors() {
    let cases = vec![
        (Type::Number, "ca 3f c0 00 00", num("1.5")),
        (Type::Number, "cc 01", num("1")),
        (Type::Number, "cd 00 01", num("1")),
        (Type::Number, "ce 00 00 00 01", num("1")),
        (Type::Number, "cf 00 00 00 00 00 00 00 01", num("1")),
        (Type::Number, "d0 ff", num("-1")),
        (Type::Number, "d1 ff ff", num("-1")),
        (Type::Number, "d2 ff ff ff ff", num("-1")),
        (Type::Number, "d3 ff ff ff ff ff ff ff ff", num("-1")),
        (Type::Number, "d0 05", num("5")),
        (Type::Number, "cb 3f b9 99 99 99 99 99 9a", num("0.1")),
        (Type::Number, "ca 3d cc cc cd", num("0.1")),
        (Type::Number, "a4 2d 30 2e 35", num("-0.5")),
        (Type::Number, "a5 31 65 34 30 30", num("1e400")),
        (
            Type::Number,
            "a8 49 6e 66 69 6e 69 74 79",
            Value::number(Number::PosInf),
        ),
        (
            Type::Number,
            "a9 2d 49 6e 66 69 6e 69 74 79",
            Value::number(Number::NegInf),
        ),
        (
            Type::Number,
            "ca ff 80 00 00",
            Value::number(Number::NegInf),
        ),
        (Type::String, "d9 01 78", Value::string("x")),
        (Type::String, "da 00 01 78", Value::string("x")),
        (Type::String, "db 00 00 00 01 78", Value::string("x")),
        (Type::String, "a2 c3 a9", Value::string("é")),
        (
            Type::list(Type::Bool),
            "dc 00 01 c3",
            Value::list(vec![Value::bool(true)]),
        ),
        (
            Type::list(Type::Bool),
            "dd 00 00 00 01 c3",
            Value::list(vec![Value::bool(true)]),
        ),
        (
            Type::map(Type::Bool),
            "de 00 01 a1 6b c2",
            Value::map([("k", Value::bool(false))]),
        ),
        (
            Type::map(Type::Bool),
            "df 00 00 00 01 a1 6b c2",
            Value::map([("k", Value::bool(false))]),
        ),
        // Refined unknown, other ext codes and widths: all unknown.
        (Type::String, "c7 03 0c 81 01 c2", Value::Unknown),
        (Type::String, "c7 00 05", Value::Unknown),
        (Type::Number, "d5 01 00 00", Value::Unknown),
        (Type::list(Type::Bool), "d6 ff 00 00 00 00", Value::Unknown),
        (Type::Bool, "d7 00 00 00 00 00 00 00 00 00", Value::Unknown),
        (
            Type::Dynamic,
            "d8 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            Value::Unknown,
        ),
        (Type::String, "c8 00 01 07 00", Value::Unknown),
        (Type::String, "c9 00 00 00 01 07 00", Value::Unknown),
        (
            Type::map(Type::Bool),
            "c7 07 0c 82 01 c2 02 a2 61 62",
            Value::Unknown,
        ),
        // Dynamic with the type JSON as str rather than bin.
        (
            Type::Dynamic,
            "92 a8 22 73 74 72 69 6e 67 22 a2 68 69",
            Value::dynamic(Type::String, Value::string("hi")),
        ),
        (
            Type::Dynamic,
            "92 a8 22 73 74 72 69 6e 67 22 d4 00 00",
            Value::dynamic(Type::String, Value::Unknown),
        ),
    ];
    for (ty, bytes, want) in cases {
        assert_eq!(decode_msgpack(&hex(bytes), &ty), Ok(want), "{bytes}");
    }
}

#[test]
fn optional_attributes_default_to_null() {
    let ty = Type::object_with_optional([("a", Type::String), ("b", Type::Number)], ["b"]);
    let got = decode_msgpack(&hex("81 a1 61 a1 78"), &ty);
    assert_eq!(
        got,
        Ok(Value::object([
            ("a", Value::string("x")),
            ("b", Value::Null)
        ]))
    );
    // Encoding writes every attribute, including null optional ones.
    let encoded = encode_msgpack(&Value::object([("a", Value::string("x"))]), &ty);
    assert_eq!(encoded, Ok(hex("82 a1 61 a1 78 a1 62 c0")));
}

#[test]
fn object_attributes_decode_in_any_order() {
    let obj = Type::object([
        ("tags", Type::map(Type::list(Type::String))),
        ("n", Type::Number),
        ("a", Type::Bool),
    ]);
    let want = Value::object([
        ("a", Value::bool(true)),
        ("n", num("1")),
        ("tags", Value::Null),
    ]);
    for bytes in [
        "83 a1 61 c3 a1 6e 01 a4 74 61 67 73 c0",
        "83 a4 74 61 67 73 c0 a1 6e 01 a1 61 c3",
        "83 a1 6e 01 a1 61 c3 a4 74 61 67 73 c0",
    ] {
        assert_eq!(
            decode_msgpack(&hex(bytes), &obj),
            Ok(want.clone()),
            "{bytes}"
        );
    }
    let err = decode_msgpack(&hex("82 a1 6e 01 a1 61 c3"), &obj).unwrap_err();
    assert_eq!(
        (err.path.to_string(), err.message.as_str()),
        ("tags".to_string(), "missing required attribute")
    );
}

#[test]
fn decode_errors_carry_paths() {
    let deep_type = (0..300).fold(Type::Bool, |t, _| Type::list(t));
    let deep_bytes = "91 ".repeat(300) + "c0";
    let dyn_json = "a9 22 64 79 6e 61 6d 69 63 22 ";
    let deep_dynamic = format!("{}c0", format!("92 {dyn_json}").repeat(300));
    let obj = Type::object([
        ("tags", Type::map(Type::list(Type::String))),
        ("n", Type::Number),
    ]);
    let cases: Vec<(Type, String, &str, &str)> = vec![
        (Type::String, String::new(), "", "unexpected end of input"),
        (
            Type::String,
            "a3 61 62".into(),
            "",
            "unexpected end of input",
        ),
        (
            Type::String,
            "c4 01 61".into(),
            "",
            "expected string, found binary",
        ),
        (
            Type::String,
            "a2 ff fe".into(),
            "",
            "invalid UTF-8 in string",
        ),
        (
            Type::String,
            "a1 61 c0".into(),
            "",
            "1 trailing bytes after the value",
        ),
        (Type::String, "c1".into(), "", "invalid msgpack marker 0xc1"),
        (Type::Bool, "01".into(), "", "expected bool, found integer"),
        (Type::Number, "c3".into(), "", "expected number, found bool"),
        (Type::Number, "a3 61 62 63".into(), "", "invalid number"),
        (
            Type::Number,
            "cb 7f f8 00 00 00 00 00 00".into(),
            "",
            "NaN is not a valid number",
        ),
        (
            Type::list(Type::Bool),
            "dd ff ff ff ff c3".into(),
            "",
            "declared length 4294967295 exceeds the 1 remaining bytes",
        ),
        (
            Type::list(Type::Bool),
            "92 c3 01".into(),
            "[1]",
            "expected bool, found integer",
        ),
        (
            Type::list(Type::Bool),
            "81 a1 61 c3".into(),
            "",
            "expected list, found map",
        ),
        (
            Type::tuple([Type::Bool]),
            "92 c3 c3".into(),
            "",
            "expected tuple of 1 elements, found 2",
        ),
        (
            Type::map(Type::Bool),
            "81 01 c3".into(),
            "",
            "expected string key, found integer",
        ),
        (
            Type::map(Type::Bool),
            "82 a1 61 c3 a1 61 c3".into(),
            "[\"a\"]",
            "duplicate map key",
        ),
        (
            obj.clone(),
            "82 a4 74 61 67 73 81 a1 6b 91 05 a1 6e 01".into(),
            "tags[\"k\"][0]",
            "expected string, found integer",
        ),
        (
            obj.clone(),
            "81 a1 6e 01".into(),
            "tags",
            "missing required attribute",
        ),
        (
            obj.clone(),
            "83 a4 74 61 67 73 c0 a1 6e 01 a1 7a c0".into(),
            "z",
            "unsupported attribute",
        ),
        (
            obj.clone(),
            "82 a1 6e 01 a1 6e 01".into(),
            "n",
            "duplicate attribute",
        ),
        (
            obj.clone(),
            "83 a4 74 61 67 73 c0 a1 6e 01 a4 74 61 67 73 c0".into(),
            "tags",
            "duplicate attribute",
        ),
        (
            obj.clone(),
            "83 a1 6e 01 a4 74 61 67 73 c0 a1 6e c3".into(),
            "n",
            "duplicate attribute",
        ),
        (
            obj.clone(),
            "82 a1 6e 01 a1 7a 01".into(),
            "z",
            "unsupported attribute",
        ),
        (obj, "91 c0".into(), "", "expected object, found array"),
        (
            Type::Dynamic,
            "a2 68 69".into(),
            "",
            "expected [type, value] array for a dynamic value, found string",
        ),
        (
            Type::Dynamic,
            "93 c0 c0 c0".into(),
            "",
            "expected [type, value] array for a dynamic value, found array",
        ),
        (
            Type::Dynamic,
            "92 01 c0".into(),
            "",
            "expected type JSON, found integer",
        ),
        (
            Type::Dynamic,
            "92 c4 01 7b c0".into(),
            "",
            "invalid type JSON",
        ),
        (
            Type::Dynamic,
            "92 c4 08 22 73 74 72 69 6e 67 22 01".into(),
            "",
            "expected string, found integer",
        ),
        (
            Type::String,
            "c7 01 0c 90".into(),
            "",
            "refined unknown payload is not a map",
        ),
        (
            Type::String,
            "c7 03 0c 81 01 d9".into(),
            "",
            "unexpected end of input",
        ),
        (deep_type, deep_bytes, "*", "nesting deeper than 256"),
        (Type::Dynamic, deep_dynamic, "*", "nesting deeper than 256"),
    ];
    for (ty, bytes, path, message) in cases {
        let err = match decode_msgpack(&hex(&bytes), &ty) {
            Ok(v) => panic!("{bytes}: decoded {v:?}"),
            Err(e) => e,
        };
        if path != "*" {
            assert_eq!(err.path.to_string(), path, "{bytes}: {err}");
        }
        assert!(err.message.starts_with(message), "{bytes}: {err}");
    }
}

#[test]
fn dynamic_slot_encoding() {
    let inferred = [
        (Value::bool(true), "92 c4 06 22 62 6f 6f 6c 22 c3"),
        (Value::number(1), "92 c4 08 22 6e 75 6d 62 65 72 22 01"),
        (
            Value::string("hi"),
            "92 c4 08 22 73 74 72 69 6e 67 22 a2 68 69",
        ),
    ];
    for (value, bytes) in inferred {
        assert_eq!(encode_msgpack(&value, &Type::Dynamic), Ok(hex(bytes)));
    }
    let nested = Value::dynamic(
        Type::list(Type::Dynamic),
        Value::list(vec![Value::dynamic(Type::Bool, Value::bool(true))]),
    );
    let bytes = encode_msgpack(&nested, &Type::Dynamic);
    let decoded = bytes.as_ref().map(|b| decode_msgpack(b, &Type::Dynamic));
    assert_eq!(decoded, Ok(Ok(nested)));
    let err = encode_msgpack(&Value::list(vec![]), &Type::Dynamic);
    assert!(err.is_err_and(|e| e.message.starts_with("cannot infer the type of a list")));
}

#[test]
fn encode_errors_carry_paths() {
    let obj = Type::object([("a", Type::list(Type::String))]);
    let cases = [
        (
            obj.clone(),
            Value::object([(
                "a",
                Value::list(vec![Value::string("x"), Value::bool(true)]),
            )]),
            "a[1]",
            "expected string, found bool",
        ),
        (
            obj.clone(),
            Value::object([("b", Value::Null)]),
            "b",
            "attribute is not in the object type",
        ),
        (
            // The first extra attribute in name order, before any error inside a value.
            obj.clone(),
            Value::object([
                ("a", Value::bool(true)),
                ("c", Value::Null),
                ("b", Value::Null),
                ("0", Value::Null),
            ]),
            "0",
            "attribute is not in the object type",
        ),
        (
            obj.clone(),
            Value::object([("a", Value::bool(true)), ("c", Value::Null)]),
            "c",
            "attribute is not in the object type",
        ),
        (
            obj,
            Value::map([("a", Value::Null)]),
            "",
            "expected object, found map",
        ),
        (
            Type::tuple([Type::Bool]),
            Value::tuple(vec![]),
            "",
            "expected tuple of 1 elements, found 0",
        ),
        (
            Type::map(Type::Bool),
            Value::map([("k", Value::dynamic(Type::Bool, Value::bool(true)))]),
            "[\"k\"]",
            "expected bool, found dynamic value",
        ),
        (
            Type::list(Type::Bool),
            Value::set(vec![]),
            "",
            "expected list, found set",
        ),
    ];
    for (ty, value, path, message) in cases {
        let err = match encode_msgpack(&value, &ty) {
            Ok(b) => panic!("{value:?}: encoded {b:02x?}"),
            Err(e) => e,
        };
        assert_eq!(err.path.to_string(), path, "{err}");
        assert_eq!(err.message, message);
    }
    let deep_type = (0..300).fold(Type::Bool, |t, _| Type::list(t));
    let deep_value = (0..300).fold(Value::Null, |v, _| Value::list(vec![v]));
    assert!(encode_msgpack(&deep_value, &deep_type).is_err());
}

#[test]
fn numbers_choose_the_smallest_exact_form() {
    let cases = [
        ("127", "7f"),
        ("128", "cc 80"),
        ("65535", "cd ff ff"),
        ("65536", "ce 00 01 00 00"),
        ("4294967296", "cf 00 00 00 01 00 00 00 00"),
        ("-32", "e0"),
        ("-129", "d1 ff 7f"),
        ("-2147483649", "d3 ff ff ff ff 7f ff ff ff"),
        ("1.0", "01"),
        ("-0.25", "cb bf d0 00 00 00 00 00 00"),
        (
            "18446744073709551616",
            "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 36",
        ),
    ];
    for (n, bytes) in cases {
        assert_eq!(
            encode_msgpack(&num(n), &Type::Number),
            Ok(hex(bytes)),
            "{n}"
        );
    }
}
