//! Configuration generated from a state (`terraform plan -generate-config-out` after an
//! `import` block, `terraform query -generate-config-out`): what a user would write to manage
//! the object as it is. Computed-only attributes, secrets (sensitive or write-only: they would
//! land in a file in clear, and the user must supply them) and values equal to their declared
//! defaults are left null; a resource may leave out more (see `Resource::generate_config`).

use std::collections::BTreeMap;

use crate::value::Value;

use super::schema::{Block, BlockNesting, Mode};

/// The configuration of a state of `block`.
pub fn config_from_state(block: &Block, state: &Value) -> Value {
    let Some(fields) = state.as_map() else {
        return Value::Null;
    };
    let mut out = BTreeMap::new();
    for a in &block.attributes {
        let v = fields.get(&a.name).cloned().unwrap_or(Value::Null);
        let keep = a.mode != Mode::Computed
            && !a.sensitive
            && !a.write_only
            && a.default.as_ref() != Some(&v);
        out.insert(a.name.clone(), if keep { v } else { Value::Null });
    }
    for b in &block.blocks {
        let v = fields.get(&b.type_name).cloned().unwrap_or(Value::Null);
        let nested = match (b.nesting, v.as_list(), v.as_map()) {
            (_, _, _) if v.is_null() || !v.is_known() => v,
            (BlockNesting::Single | BlockNesting::Group, _, _) => config_from_state(&b.block, &v),
            (BlockNesting::List, Some(items), _) => Value::list(
                items
                    .iter()
                    .map(|i| config_from_state(&b.block, i))
                    .collect(),
            ),
            (BlockNesting::Set, Some(items), _) => Value::set(
                items
                    .iter()
                    .map(|i| config_from_state(&b.block, i))
                    .collect(),
            ),
            (BlockNesting::Map, _, Some(m)) => Value::map(
                m.iter()
                    .map(|(k, i)| (k.clone(), config_from_state(&b.block, i))),
            ),
            _ => v,
        };
        out.insert(b.type_name.clone(), nested);
    }
    Value::object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};
    use crate::value::Type;

    #[test]
    fn computed_secret_and_default_values_are_left_out() {
        let block = Block::new()
            .attribute(Attribute::computed("id", Type::String))
            .attribute(Attribute::required("name", Type::String))
            .attribute(Attribute::optional("password", Type::String).sensitive())
            .attribute(
                Attribute::optional_computed("replicas", Type::Number)
                    .default_value(Value::number(1)),
            )
            .attribute(
                Attribute::optional_computed("image", Type::String)
                    .default_value(Value::string("a:1")),
            )
            .block(NestedBlock::list(
                "port",
                Block::new()
                    .attribute(Attribute::required("number", Type::Number))
                    .attribute(Attribute::computed("assigned", Type::String)),
            ));
        let state = Value::object([
            ("id", Value::string("x")),
            ("name", Value::string("x")),
            ("password", Value::string("secret")),
            ("replicas", Value::number(1)),
            ("image", Value::string("b:2")),
            (
                "port",
                Value::list(vec![Value::object([
                    ("number", Value::number(80)),
                    ("assigned", Value::string("10.0.0.1")),
                ])]),
            ),
        ]);
        let c = config_from_state(&block, &state);
        let get = |k: &str| c.get_attr(k).cloned().unwrap_or(Value::Unknown);
        assert_eq!(get("id"), Value::Null);
        assert_eq!(get("name"), Value::string("x"));
        assert_eq!(
            get("password"),
            Value::Null,
            "secrets are never written out"
        );
        assert_eq!(get("replicas"), Value::Null, "the default");
        assert_eq!(get("image"), Value::string("b:2"));
        assert_eq!(
            get("port"),
            Value::list(vec![Value::object([
                ("number", Value::number(80)),
                ("assigned", Value::Null),
            ])])
        );
    }
}
