//! Table-driven unit tests of the JSON codec.

use super::*;

fn num(s: &str) -> Value {
    Value::number(Number::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn sample_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("size", Type::Number),
        ("tags", Type::map(Type::String)),
        ("ports", Type::set(Type::Number)),
        ("pair", Type::tuple([Type::Bool, Type::String])),
        ("extra", Type::Dynamic),
    ])
}

/// Canonical encodings that must hold in both directions.
fn both_ways() -> Vec<(Type, Value, &'static str)> {
    vec![
        (Type::String, Value::string("hi"), r#""hi""#),
        (Type::String, Value::Null, "null"),
        (Type::Bool, Value::bool(false), "false"),
        (Type::Number, num("1"), "1"),
        (Type::Number, num("-0.5"), "-0.5"),
        (
            Type::Number,
            num("123456789012345678901234567890"),
            "123456789012345678901234567890",
        ),
        (Type::Number, num("0.1"), "0.1"),
        (Type::Number, num("1e2000"), "1e+2000"),
        (Type::list(Type::String), Value::list(vec![]), "[]"),
        (
            sample_type(),
            Value::object([
                ("id", Value::string("x")),
                ("size", Value::Null),
                (
                    "tags",
                    Value::map([("b", Value::string("2")), ("a", Value::string("1"))]),
                ),
                ("ports", Value::set(vec![num("443"), num("80")])),
                (
                    "pair",
                    Value::tuple(vec![Value::bool(true), Value::string("p")]),
                ),
                (
                    "extra",
                    Value::dynamic(Type::list(Type::Bool), Value::list(vec![Value::bool(true)])),
                ),
            ]),
            r#"{"extra":{"value":[true],"type":["list","bool"]},"id":"x","pair":[true,"p"],"ports":[443,80],"size":null,"tags":{"a":"1","b":"2"}}"#,
        ),
        (
            Type::Dynamic,
            Value::dynamic(Type::String, Value::Null),
            r#"{"value":null,"type":"string"}"#,
        ),
    ]
}

#[test]
fn vectors_encode_and_decode() {
    for (ty, value, text) in both_ways() {
        let encoded = encode_json(&value, &ty).map(|b| String::from_utf8_lossy(&b).into_owned());
        assert_eq!(encoded.as_deref(), Ok(text), "encode {value:?}");
        assert_eq!(
            decode_json(text.as_bytes(), &ty),
            Ok(value),
            "decode {text}"
        );
    }
}

#[test]
fn lenient_decoding() {
    let obj = Type::object([("a", Type::String), ("b", Type::Number)]);
    let cases = vec![
        (Type::Number, "1.000", num("1")),
        (Type::Number, "1e400", num("1e400")),
        (
            Type::Number,
            "0.30000000000000000000000000001",
            num("0.30000000000000000000000000001"),
        ),
        (Type::Number, r#""12.5""#, num("12.5")),
        (Type::Number, r#""-1e3""#, num("-1000")),
        (Type::Bool, r#""true""#, Value::bool(true)),
        (Type::Bool, r#""false""#, Value::bool(false)),
        (Type::String, "12.50", Value::string("12.50")),
        (Type::String, "true", Value::string("true")),
        (
            obj.clone(),
            "{}",
            Value::object([("a", Value::Null), ("b", Value::Null)]),
        ),
        (
            obj.clone(),
            r#"{"a":"x","gone":[1,2],"b":2}"#,
            Value::object([("a", Value::string("x")), ("b", num("2"))]),
        ),
        (obj, "null", Value::Null),
        (
            Type::Dynamic,
            r#"{"type":"number","value":"7"}"#,
            Value::dynamic(Type::Number, num("7")),
        ),
        (Type::Dynamic, "null", Value::Null),
    ];
    for (ty, text, want) in cases {
        assert_eq!(decode_json(text.as_bytes(), &ty), Ok(want), "{text}");
    }
}

#[test]
fn decode_errors_carry_paths() {
    let obj = Type::object([("tags", Type::map(Type::list(Type::Number)))]);
    let deep = "[".repeat(200) + &"]".repeat(200);
    let deep_type = (0..200).fold(Type::Bool, |t, _| Type::list(t));
    let cases = vec![
        (Type::String, "", "", "invalid JSON"),
        (Type::String, r#""a" x"#, "", "invalid JSON"),
        (Type::String, "[]", "", "expected string, found array"),
        (Type::Bool, r#""yes""#, "", "expected bool, found string"),
        (Type::Number, r#""abc""#, "", "invalid number"),
        (Type::Number, "true", "", "expected number, found bool"),
        (
            obj.clone(),
            r#"{"tags":{"k":[1,"x"]}}"#,
            "tags[\"k\"][1]",
            "invalid number",
        ),
        (obj, r#"{"tags":[]}"#, "tags", "expected map, found array"),
        (
            Type::tuple([Type::Bool]),
            "[true,false]",
            "",
            "expected tuple of 1 elements, found 2",
        ),
        (
            Type::Dynamic,
            r#"{"value":1}"#,
            "",
            "dynamic value needs both",
        ),
        (
            Type::Dynamic,
            r#"{"value":1,"type":"number","x":1}"#,
            "",
            "unexpected key \"x\"",
        ),
        (
            Type::Dynamic,
            r#"{"value":1,"type":"float"}"#,
            "",
            "invalid type JSON",
        ),
        (
            Type::Dynamic,
            r#"{"value":"a","type":"bool"}"#,
            "",
            "expected bool, found string",
        ),
        (Type::Dynamic, "1", "", "expected dynamic, found number"),
        (deep_type, &deep, "", "invalid JSON"),
    ];
    for (ty, text, path, message) in cases {
        let err = match decode_json(text.as_bytes(), &ty) {
            Ok(v) => panic!("{text}: decoded {v:?}"),
            Err(e) => e,
        };
        assert_eq!(err.path.to_string(), path, "{text}: {err}");
        assert!(err.message.starts_with(message), "{text}: {err}");
    }
}

#[test]
fn encode_errors_carry_paths() {
    let obj = Type::object([("a", Type::list(Type::Number))]);
    let cases = [
        (
            obj.clone(),
            Value::object([("a", Value::list(vec![Value::Unknown]))]),
            "a[0]",
            "unknown values cannot be encoded as JSON",
        ),
        (
            Type::Number,
            Value::number(Number::PosInf),
            "",
            "infinity cannot be represented in JSON",
        ),
        (
            obj.clone(),
            Value::object([("z", Value::Null)]),
            "z",
            "attribute is not in the object type",
        ),
        (obj, Value::string("x"), "", "expected object, found string"),
        (
            Type::Dynamic,
            Value::map([("a", Value::Null)]),
            "",
            "cannot infer the type of a map in a dynamic slot; wrap it in Known::Dynamic",
        ),
        (
            Type::tuple([]),
            Value::tuple(vec![Value::Null]),
            "",
            "expected tuple of 0 elements, found 1",
        ),
    ];
    for (ty, value, path, message) in cases {
        let err = match encode_json(&value, &ty) {
            Ok(b) => panic!("{value:?}: encoded {}", String::from_utf8_lossy(&b)),
            Err(e) => e,
        };
        assert_eq!(err.path.to_string(), path, "{err}");
        assert_eq!(err.message, message);
    }
}

#[test]
fn inferred_dynamic_and_missing_attributes() {
    let got = encode_json(&Value::string("s"), &Type::Dynamic);
    assert_eq!(got, Ok(br#"{"value":"s","type":"string"}"#.to_vec()));
    let obj = Type::object([("a", Type::Bool), ("b", Type::Bool)]);
    let got = encode_json(&Value::object([("b", Value::bool(true))]), &obj);
    assert_eq!(got, Ok(br#"{"a":null,"b":true}"#.to_vec()));
    let json = encode_json_value(&Value::number(5), &Type::Number);
    assert_eq!(json.as_ref().map(ToString::to_string), Ok("5".to_owned()));
    if let Ok(json) = json {
        assert_eq!(
            decode_json_value(&json, &Type::Number),
            Ok(Value::number(5))
        );
    }
}
