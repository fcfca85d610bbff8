//! Writing one attribute of an object value: what the typed models
//! ([`model!`](crate::model)) and the schema-driven parts of the framework build on. Resource
//! code reads and writes attributes through models, never through names.

use crate::value::{Known, Value};

/// Sets a top-level attribute of an object value (nothing happens to any other value).
pub fn set(v: &mut Value, name: &str, x: Value) {
    if let Value::Known(Known::Object(fields)) = v {
        fields.insert(name.to_string(), x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_take_attributes() {
        let mut o = Value::object(vec![("a", Value::Null)]);
        set(&mut o, "a", Value::bool(true));
        assert_eq!(o.get_attr("a"), Some(&Value::bool(true)));
        let mut l = Value::list(vec![]);
        set(&mut l, "a", Value::bool(true));
        assert_eq!(l, Value::list(vec![]));
    }
}
