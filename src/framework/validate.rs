//! Configuration validation driven by the schema: attribute validators, deprecation
//! warnings, the write-only rules and the block's cross-attribute [rules](super::rules), each
//! diagnostic carrying the attribute path.

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
    walk(block, &AttributePath::root(), config, caps, &mut diags);
    diags
}

fn walk(
    block: &Block,
    path: &AttributePath,
    config: &Value,
    caps: ClientCapabilities,
    diags: &mut Diagnostics,
) {
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
        if a.write_only && !caps.write_only_attributes_allowed {
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
        validators::run(&a.validators, &p, v, diags);
        if let AttributeType::Nested(n) = &a.ty {
            elements(&n.block(), n.nesting.into(), &p, v, caps, diags);
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
        elements(&b.block, b.nesting, &p, v, caps, diags);
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
    caps: ClientCapabilities,
    diags: &mut Diagnostics,
) {
    match nesting {
        BlockNesting::Single | BlockNesting::Group => walk(block, path, v, caps, diags),
        BlockNesting::List => {
            for (i, e) in v.as_list().unwrap_or(&[]).iter().enumerate() {
                walk(block, &path.clone().index(i as i64), e, caps, diags);
            }
        }
        BlockNesting::Set => {
            for e in v.as_list().unwrap_or(&[]) {
                walk(block, path, e, caps, diags);
            }
        }
        BlockNesting::Map => {
            if let Some(m) = v.as_map() {
                for (k, e) in m {
                    walk(block, &path.clone().key(k), e, caps, diags);
                }
            }
        }
    }
}
