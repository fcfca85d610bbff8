//! Resource identity (Terraform 1.12+): a small object, stored beside the state, that names the
//! remote object a resource instance manages, so `import` blocks can name it by its parts
//! (`identity = { cluster_name = ..., name = ... }`) instead of a composed ID string.
//!
//! Every identity attribute here is a string attribute of the resource's state of the same
//! name, and each of them forces replacement when it changes: an instance's identity never
//! changes during its life.

use std::collections::BTreeMap;

use crate::value::{Type, Value};

/// One attribute of an identity.
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: &'static str,
    /// Must be given in an `import` block's `identity`; otherwise it may be left out.
    pub required_for_import: bool,
    pub description: &'static str,
}

/// A resource's identity schema.
#[derive(Clone, Debug)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn new(attributes: Vec<IdentityAttribute>) -> Self {
        IdentitySchema {
            version: 0,
            attributes,
        }
    }

    /// The identity's value type: an object of strings.
    pub fn value_type(&self) -> Type {
        Type::object(self.attributes.iter().map(|a| (a.name, Type::String)))
    }

    /// The identity of a state: each attribute copied from the state. `None` for a null
    /// state, or while any of them is not known yet (a name made from a prefix at create).
    pub fn of_state(&self, state: &Value) -> Option<Value> {
        if state.is_null() || !state.is_known() {
            return None;
        }
        let mut attrs = BTreeMap::new();
        for a in &self.attributes {
            let v = state.get_attr(a.name).cloned().unwrap_or(Value::Null);
            if !v.is_known() || (a.required_for_import && v.is_null()) {
                return None;
            }
            attrs.insert(a.name, v);
        }
        Some(Value::object(attrs))
    }

    /// The identity's attributes as strings (`None` where null), for building an import ID.
    pub fn parts<'a>(&self, identity: &'a Value) -> BTreeMap<&'static str, Option<&'a str>> {
        self.attributes
            .iter()
            .map(|a| (a.name, identity.get_attr(a.name).and_then(Value::as_str)))
            .collect()
    }

    /// The required attributes an identity leaves null or empty.
    pub fn missing(&self, identity: &Value) -> Vec<&'static str> {
        let parts = self.parts(identity);
        self.attributes
            .iter()
            .filter(|a| a.required_for_import)
            .filter(|a| {
                parts
                    .get(a.name)
                    .copied()
                    .flatten()
                    .is_none_or(str::is_empty)
            })
            .map(|a| a.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> IdentitySchema {
        IdentitySchema::new(vec![
            IdentityAttribute {
                name: "cluster_name",
                required_for_import: false,
                description: "",
            },
            IdentityAttribute {
                name: "name",
                required_for_import: true,
                description: "",
            },
        ])
    }

    #[test]
    fn the_identity_of_a_state_copies_its_attributes_once_known() {
        let s = schema();
        let state = Value::object([
            ("cluster_name", Value::string("analytics")),
            ("name", Value::string("infra")),
            ("labels", Value::Null),
        ]);
        assert_eq!(
            s.of_state(&state),
            Some(Value::object([
                ("cluster_name", Value::string("analytics")),
                ("name", Value::string("infra")),
            ]))
        );
        let unnamed = Value::object([("cluster_name", Value::Null), ("name", Value::Unknown)]);
        assert_eq!(s.of_state(&unnamed), None);
        assert_eq!(s.of_state(&Value::Null), None);
        let no_cluster =
            Value::object([("cluster_name", Value::Null), ("name", Value::string("x"))]);
        let id = s.of_state(&no_cluster).expect("identity");
        assert_eq!(s.parts(&id).get("cluster_name"), Some(&None));
        assert!(s.missing(&id).is_empty());
        assert_eq!(
            s.missing(&Value::object([("name", Value::string(""))])),
            vec!["name"]
        );
    }
}
