//! Configuration validation driven by the schema: attribute validators, deprecation
//! warnings, the write-only rules and the block's cross-attribute [rules](super::rules), each
//! diagnostic carrying the attribute path.
//!
//! The walk knows which values are sensitive: those of sensitive and write-only attributes,
//! and everything nested in one. Validators are told, and never quote them.

use crate::value::{AttributePath, Value};

use super::diagnostics::{Diagnostic, Diagnostics};
use super::schema::{AttributeType, Block, BlockNesting};
use super::validators;

/// What the client said it can do.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientCapabilities {
    pub write_only_attributes_allowed: bool,
}

/// Validates a configuration object against a block.
pub fn validate_config(block: &Block, config: &Value, caps: ClientCapabilities) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let at = At {
        caps,
        sensitive: false,
    };
    walk(block, &AttributePath::root(), config, at, &mut diags);
    diags
}

/// What the walk carries down: the client's capabilities, and whether the object being
/// walked is nested in a sensitive or write-only attribute.
#[derive(Clone, Copy)]
struct At {
    caps: ClientCapabilities,
    sensitive: bool,
}

fn walk(block: &Block, path: &AttributePath, config: &Value, at: At, diags: &mut Diagnostics) {
    if config.is_null() || config.is_unknown() {
        return;
    }
    for a in &block.attributes {
        let v = config.get_attr(&a.name).unwrap_or(&Value::Null);
        if v.is_null() {
            continue;
        }
        let p = path.clone().attr(&a.name);
        if let Some(msg) = &a.deprecation {
            diags.push(Diagnostic::warning("Deprecated attribute", msg.clone()).at(p.clone()));
        }
        if a.write_only && !at.caps.write_only_attributes_allowed {
            diags.push(
                Diagnostic::error(
                    "Write-only attribute not supported",
                    format!(
                        "{p} is write-only and this Terraform does not support write-only attributes \
                         (Terraform 1.11 or later does). Use the non-write-only form instead."
                    ),
                )
                .at(p.clone()),
            );
        }
        let inner = At {
            sensitive: at.sensitive || a.sensitive || a.write_only,
            ..at
        };
        validators::run(&a.validators, &p, v, inner.sensitive, diags);
        if let AttributeType::Nested(n) = &a.ty {
            elements(&n.block(), n.nesting.into(), &p, v, inner, diags);
        }
    }
    for b in &block.blocks {
        let v = config.get_attr(&b.type_name).unwrap_or(&Value::Null);
        if v.is_null() {
            continue;
        }
        let p = path.clone().attr(&b.type_name);
        if let Some(msg) = &b.block.deprecation {
            diags.push(Diagnostic::warning("Deprecated block", msg.clone()).at(p.clone()));
        }
        elements(&b.block, b.nesting, &p, v, at, diags);
    }
    for r in &block.rules {
        r.check(path, config, diags);
    }
}

fn elements(
    block: &Block,
    nesting: BlockNesting,
    path: &AttributePath,
    v: &Value,
    at: At,
    diags: &mut Diagnostics,
) {
    match nesting {
        BlockNesting::Single | BlockNesting::Group => walk(block, path, v, at, diags),
        BlockNesting::List => {
            for (i, e) in v.as_list().unwrap_or(&[]).iter().enumerate() {
                walk(block, &path.clone().index(i as i64), e, at, diags);
            }
        }
        BlockNesting::Set => {
            for e in v.as_list().unwrap_or(&[]) {
                walk(block, path, e, at, diags);
            }
        }
        BlockNesting::Map => {
            if let Some(m) = v.as_map() {
                for (k, e) in m {
                    walk(block, &path.clone().key(k), e, at, diags);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, Mode, NestedBlock, ObjectNesting};
    use crate::framework::validators::{matches, one_of};
    use crate::value::Type;

    fn pattern() -> validators::Matches {
        matches("^[a-z]+$", "lowercase letters")
    }

    /// A sensitive nested attribute, a write-only one, one of each inside a list block, and a
    /// plain one.
    fn block() -> Block {
        Block::new()
            .attribute(Attribute::optional("plain", Type::String).validator(pattern()))
            .attribute(
                Attribute::optional("token_wo", Type::String)
                    .write_only()
                    .validator(one_of(&["a"])),
            )
            .attribute(
                Attribute::nested(
                    "credentials",
                    ObjectNesting::List,
                    Mode::Optional,
                    vec![Attribute::optional("key", Type::String).validator(pattern())],
                )
                .sensitive(),
            )
            .block(NestedBlock::list(
                "rule",
                Block::new().attribute(
                    Attribute::optional("secret", Type::String)
                        .sensitive()
                        .validator(pattern()),
                ),
            ))
    }

    #[test]
    fn values_of_sensitive_write_only_and_nested_sensitive_attributes_are_not_quoted() {
        let bad = |n: u8| Value::string(format!("S3CR3T-{n}\n"));
        let config = Value::object(vec![
            ("plain", Value::string("Shown")),
            ("token_wo", bad(1)),
            (
                "credentials",
                Value::list(vec![Value::object(vec![("key", bad(2))])]),
            ),
            (
                "rule",
                Value::list(vec![Value::object(vec![("secret", bad(3))])]),
            ),
        ]);
        let caps = ClientCapabilities {
            write_only_attributes_allowed: true,
        };
        let diags = validate_config(&block(), &config, caps);
        let shown: Vec<(String, String)> = diags
            .iter()
            .map(|d| {
                let path = d
                    .attribute
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                (path, d.detail.clone())
            })
            .collect();
        assert_eq!(shown.len(), 4, "{shown:?}");
        for (path, detail) in &shown {
            if path == "plain" {
                assert!(detail.contains("got \"Shown\""), "{detail}");
            } else {
                assert!(!detail.contains("S3CR3T"), "{path}: {detail}");
                assert!(
                    detail.contains("has a trailing newline"),
                    "{path}: {detail}"
                );
            }
        }
    }
}
