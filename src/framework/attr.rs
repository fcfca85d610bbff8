//! Single attributes of object values, for code that works on a plan before everything in it
//! is known (plan modification, rendering partly-unknown plans), where a typed model read
//! through [`FromValue`](super::FromValue) would fail on the first unknown.
//!
//! Two families:
//! - lenient readers ([`str_of`], [`int_of`], [`string_map`], [`string_list`]) that answer
//!   `None` for anything not known and of the right shape;
//! - strict readers ([`opt_str`], [`opt_int`], [`opt_bool`], [`str_map`], [`block`]) that tell
//!   null (`Ok(None)`) from not known yet ([`NotKnown`]), for renderers that must give up
//!   while anything they depend on is unknown.

use std::collections::BTreeMap;

use crate::value::{Known, Number, Value};

/// A known string attribute.
pub fn str_of(v: &Value, name: &str) -> Option<String> {
    v.get_attr(name).and_then(Value::as_str).map(str::to_string)
}

/// A known whole-number attribute.
pub fn int_of(v: &Value, name: &str) -> Option<i64> {
    v.get_attr(name)
        .and_then(Value::as_number)
        .and_then(Number::to_i64)
}

/// Present and not null; an unknown value counts as set (it will be known at apply).
pub fn is_set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

/// Present, not null and known.
pub fn is_known_set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null() && !v.is_unknown())
}

/// Sets a top-level attribute of an object value (nothing happens to any other value).
pub fn set(v: &mut Value, name: &str, x: Value) {
    if let Value::Known(Known::Object(fields)) = v {
        fields.insert(name.to_string(), x);
    }
}

/// A known map of strings (null is empty), or `None` when unknown anywhere inside.
pub fn string_map(v: &Value) -> Option<BTreeMap<String, String>> {
    if v.is_null() {
        return Some(BTreeMap::new());
    }
    v.as_map()?
        .iter()
        .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

/// A known list of strings (null is empty), or `None` when unknown anywhere inside.
pub fn string_list(v: &Value) -> Option<Vec<String>> {
    if v.is_null() {
        return Some(Vec::new());
    }
    v.as_list()?
        .iter()
        .map(|e| e.as_str().map(str::to_string))
        .collect()
}

pub fn map_value(m: &BTreeMap<String, String>) -> Value {
    Value::map(m.iter().map(|(k, v)| (k.clone(), Value::string(v))))
}

pub fn list_value(l: &[String]) -> Value {
    Value::list(l.iter().map(Value::string).collect())
}

/// A value is not known yet (during plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotKnown;

/// A known string; `Err(NotKnown)` when unknown, `Ok(None)` when null.
pub fn opt_str(v: Option<&Value>) -> Result<Option<String>, NotKnown> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) if v.is_unknown() => Err(NotKnown),
        Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or(NotKnown),
    }
}

pub fn opt_int(v: Option<&Value>) -> Result<Option<i64>, NotKnown> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .as_number()
            .and_then(Number::to_i64)
            .map(Some)
            .ok_or(NotKnown),
    }
}

pub fn opt_bool(v: Option<&Value>) -> Result<Option<bool>, NotKnown> {
    match v {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or(NotKnown),
    }
}

/// A known map of strings; null is empty.
pub fn str_map(v: Option<&Value>) -> Result<BTreeMap<String, String>, NotKnown> {
    match v {
        None => Ok(BTreeMap::new()),
        Some(v) if v.is_null() => Ok(BTreeMap::new()),
        Some(v) => v
            .as_map()
            .ok_or(NotKnown)?
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or(NotKnown)
            })
            .collect(),
    }
}

/// A nested block's object: `Ok(None)` when absent.
pub fn block(v: &Value, name: &str) -> Result<Option<Value>, NotKnown> {
    match v.get_attr(name) {
        None => Ok(None),
        Some(b) if b.is_null() => Ok(None),
        Some(b) if b.is_unknown() => Err(NotKnown),
        Some(b) => Ok(Some(b.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_readers_tell_null_from_unknown() {
        let v = Value::object(vec![
            ("a", Value::string("x")),
            ("n", Value::Null),
            ("u", Value::Unknown),
        ]);
        assert_eq!(opt_str(v.get_attr("a")), Ok(Some("x".to_string())));
        assert_eq!(opt_str(v.get_attr("n")), Ok(None));
        assert_eq!(opt_str(v.get_attr("u")), Err(NotKnown));
        assert_eq!(block(&v, "u"), Err(NotKnown));
        assert_eq!(block(&v, "missing"), Ok(None));
    }

    #[test]
    fn an_unknown_value_is_set_but_not_known_set() {
        assert!(is_set(Some(&Value::Unknown)));
        assert!(!is_known_set(Some(&Value::Unknown)));
        assert!(!is_set(Some(&Value::Null)));
        assert!(!is_set(None));
    }
}
