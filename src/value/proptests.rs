//! Property tests: codec round trips over arbitrary types and conforming
//! values, and "never panics" over arbitrary input.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::*;

/// Arbitrary types, at most 4 levels deep.
fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_flat_map(|attributes| {
                let names: Vec<String> = attributes.keys().cloned().collect();
                let n = names.len();
                proptest::sample::subsequence(names, 0..=n).prop_map(move |optional| Type::Object {
                    attributes: attributes.clone(),
                    optional: optional.into_iter().collect(),
                })
            }),
            vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

/// Concrete types a dynamic slot may carry in the generated values.
fn arb_dynamic_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::list(Type::String)),
        Just(Type::object([
            ("a", Type::Number),
            ("b", Type::set(Type::Bool))
        ])),
        Just(Type::tuple([Type::String, Type::map(Type::Number)])),
    ]
}

fn parsed(s: String) -> Option<Number> {
    Number::parse(&s).ok()
}

/// Arbitrary numbers: machine ints, floats, big and precise decimals, and
/// (if `infinities`) ±infinity.
fn arb_number(infinities: bool) -> BoxedStrategy<Number> {
    let finite = prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        any::<f32>().prop_filter_map("finite", Number::from_f32),
        ("-?[1-9][0-9]{0,40}", -60i32..60)
            .prop_filter_map("number", |(m, e)| parsed(format!("{m}e{e}"))),
        "-?[0-9]{1,30}\\.[0-9]{1,30}".prop_filter_map("number", parsed),
        ("[1-9]", 1500i32..2100).prop_filter_map("huge", |(m, e)| parsed(format!("{m}e{e}"))),
    ];
    if infinities {
        prop_oneof![
            8 => finite,
            1 => Just(Number::PosInf),
            1 => Just(Number::NegInf),
        ]
        .boxed()
    } else {
        finite.boxed()
    }
}

/// Values conforming to `ty`, with nulls (and, if `msgpack`, unknowns and
/// infinities) at any level.
fn arb_value(ty: &Type, msgpack: bool) -> BoxedStrategy<Value> {
    let known = arb_known(ty, msgpack);
    if msgpack {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn arb_known(ty: &Type, msgpack: bool) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::bool).boxed(),
        Type::Number => arb_number(msgpack).prop_map(Value::number).boxed(),
        Type::String => any::<String>().prop_map(Value::string).boxed(),
        Type::List(el) => vec(arb_value(el, msgpack), 0..4)
            .prop_map(Value::list)
            .boxed(),
        Type::Set(el) => vec(arb_value(el, msgpack), 0..4)
            .prop_map(Value::set)
            .boxed(),
        Type::Map(el) => btree_map(".{0,5}", arb_value(el, msgpack), 0..4)
            .prop_map(Value::map)
            .boxed(),
        Type::Object { attributes, .. } => attributes
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                arb_value(t, msgpack).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(Value::object)
            .boxed(),
        Type::Tuple(types) => types
            .iter()
            .map(|t| arb_value(t, msgpack))
            .collect::<Vec<_>>()
            .prop_map(Value::tuple)
            .boxed(),
        Type::Dynamic => arb_dynamic_type()
            .prop_flat_map(move |t| {
                arb_value(&t, msgpack).prop_map(move |v| Value::dynamic(t.clone(), v))
            })
            .boxed(),
    }
}

fn typed_value(msgpack: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| {
        let v = arb_value(&t, msgpack);
        (Just(t), v)
    })
}

proptest! {
    #[test]
    fn msgpack_round_trip((ty, value) in typed_value(true)) {
        let bytes = encode_msgpack(&value, &ty);
        prop_assert!(bytes.is_ok(), "{bytes:?}");
        let bytes = bytes.unwrap_or_default();
        let decoded = decode_msgpack(&bytes, &ty);
        prop_assert_eq!(decoded.as_ref(), Ok(&value));
        // The encoding is canonical: re-encoding gives the same bytes.
        let again = decoded.map(|d| encode_msgpack(&d, &ty));
        prop_assert_eq!(again, Ok(Ok(bytes)));
    }

    #[test]
    fn json_round_trip((ty, value) in typed_value(false)) {
        let bytes = encode_json(&value, &ty);
        prop_assert!(bytes.is_ok(), "{bytes:?}");
        let bytes = bytes.unwrap_or_default();
        prop_assert_eq!(decode_json(&bytes, &ty), Ok(value));
    }

    #[test]
    fn msgpack_decode_never_panics(ty in arb_type(), bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(value) = decode_msgpack(&bytes, &ty) {
            let encoded = encode_msgpack(&value, &ty);
            prop_assert!(encoded.is_ok(), "{encoded:?}");
            let again = decode_msgpack(&encoded.unwrap_or_default(), &ty);
            prop_assert_eq!(again, Ok(value));
        }
    }

    #[test]
    fn mutated_msgpack_never_panics(
        (ty, value) in typed_value(true),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode_msgpack(&value, &ty).unwrap_or_default();
        if !bytes.is_empty() {
            for (at, byte) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
            let cut = cut.index(bytes.len());
            for input in [&bytes[..], &bytes[..cut]] {
                if let Ok(value) = decode_msgpack(input, &ty) {
                    let again = encode_msgpack(&value, &ty).map(|b| decode_msgpack(&b, &ty));
                    prop_assert_eq!(again, Ok(Ok(value)));
                }
            }
        }
    }

    #[test]
    fn json_decode_never_panics(ty in arb_type(), text in "[\\[\\]{}\",:0-9a-z.eE+-]{0,64}") {
        let _ = decode_json(text.as_bytes(), &ty);
    }

    #[test]
    fn number_display_parses_back(n in arb_number(true)) {
        prop_assert_eq!(Number::parse(&n.to_string()), Ok(n));
    }

    #[test]
    fn number_order_matches_integers(a in any::<i64>(), b in any::<i64>()) {
        prop_assert_eq!(Number::from(a).cmp(&Number::from(b)), a.cmp(&b));
        prop_assert_eq!(Number::from(a).to_i64(), Some(a));
    }

    #[test]
    fn number_order_matches_floats(a in any::<f64>(), b in any::<f64>()) {
        if let (Some(x), Some(y)) = (Number::from_f64(a), Number::from_f64(b)) {
            prop_assert_eq!(Some(x.cmp(&y)), a.partial_cmp(&b));
            prop_assert_eq!(x.to_f64(), a + 0.0);
        }
    }

    #[test]
    fn type_json_round_trip(ty in arb_type()) {
        prop_assert_eq!(Type::from_json(&ty.to_json_bytes()), Ok(ty));
    }
}
