//! Single attributes of object values, for the plan passes that work on a plan before
//! everything in it is known, where a typed model read through
//! [`FromValue`](super::FromValue) would give up at the first unknown. The readers answer
//! `None` for anything not known or not of the right shape.

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

/// A copy of an attribute (a nested block, typically) when it is known and not null.
pub fn known_attr(v: &Value, name: &str) -> Option<Value> {
    v.get_attr(name)
        .filter(|b| !b.is_null() && !b.is_unknown())
        .cloned()
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

pub fn map_value(m: &BTreeMap<String, String>) -> Value {
    Value::map(m.iter().map(|(k, v)| (k.clone(), Value::string(v))))
}

pub fn list_value(l: &[String]) -> Value {
    Value::list(l.iter().map(Value::string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_value_is_set_but_not_known_set() {
        assert!(is_set(Some(&Value::Unknown)));
        assert!(!is_known_set(Some(&Value::Unknown)));
        assert!(!is_set(Some(&Value::Null)));
        assert!(!is_set(None));
    }
}
