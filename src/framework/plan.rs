//! The plan pipeline, in the order core's rules require:
//! 1. defaults for attributes the configuration leaves null;
//! 2. when anything changes (or on create), computed attributes the configuration leaves null
//!    become unknown ("known after apply");
//! 3. attribute plan modifiers (use-state-for-unknown, requires-replace, ...);
//! 4. write-only attributes are planned null.
//!
//! The resource's own plan changes run after this, in the server, followed by
//! [`replaced_after`]: an attribute that forces replacement does so whoever changed it.
//!
//! # What core proposes for a block the configuration leaves out
//!
//! A `NestingSingle` block left out of the configuration is null in the configuration, and
//! core's plan check (`objchange.AssertPlanValid`, unchanged from 1.0 to today) demands it be
//! null in the planned state too: "planned for existence but config wants absense".
//! The proposed new state core sends differs by version:
//! - Terraform 1.15 (`objchange.proposedNewNestedBlock`): the configuration's null (and an
//!   unknown block, from `dynamic` over an unknown collection, stays unknown).
//! - Terraform 1.0.x (protocol 6.0): the *prior* block. There `proposedNewNestedBlock` sends
//!   single and group blocks alike to `ProposedNew`, whose `proposedNew` returns the prior
//!   object whenever the configuration object is null; so removing `monitoring {}` proposes
//!   the monitoring block that is in state, and planning it fails core's own check.
//!
//! Pass 1 therefore plans every single block the (known) configuration leaves out as null,
//! whatever was proposed. List and set blocks need no such rule: every version proposes an
//! empty collection for an empty configuration. A group block is never null. Nested attributes
//! follow the attribute rules (optional+computed keeps the prior value; optional takes the
//! configuration), the same in every version.

use std::collections::BTreeMap;

use crate::value::{AttributePath, Known, Value};

use super::diagnostics::Diagnostics;
use super::plan_modifiers::{AttributePlanRequest, AttributePlanResponse};
use super::schema::{Attribute, AttributeType, Block, BlockNesting, NestedBlock, Schema};

/// The outcome of planning one resource instance.
#[derive(Debug)]
pub struct Planned {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
}

/// Plans a create or update. `prior` is null on create; `proposed` is core's proposed new
/// state; `config` the configuration.
pub fn plan(schema: &Schema, prior: &Value, proposed: &Value, config: &Value) -> Planned {
    let root = AttributePath::root();
    let mut planned = apply_defaults(&schema.block, config, proposed.clone());
    let creating = prior.is_null();
    let changed = creating || planned != *prior;
    let mut walk = Walk {
        changed,
        creating,
        requires_replace: Vec::new(),
        diagnostics: Diagnostics::new(),
    };
    planned = walk.block(&schema.block, &root, config, prior, planned);
    Planned {
        planned,
        requires_replace: walk.requires_replace,
        diagnostics: walk.diagnostics,
    }
}

fn attr<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get_attr(name).unwrap_or(&Value::Null)
}

/// Replaces an attribute of an object by `f` of its value (null when absent), in place.
/// On anything but an object, `f` still runs (on null) and its result is dropped.
fn update_attr(object: &mut Value, name: &str, f: impl FnOnce(Value) -> Value) {
    match object {
        Value::Known(Known::Object(fields)) => match fields.get_mut(name) {
            Some(slot) => {
                let v = std::mem::replace(slot, Value::Null);
                *slot = f(v);
            }
            None => {
                fields.insert(name.to_string(), f(Value::Null));
            }
        },
        _ => {
            f(Value::Null);
        }
    }
}

/// Pass 1: defaults, everywhere a configuration object exists; write-only attributes nulled;
/// single blocks the configuration leaves out planned absent.
fn apply_defaults(block: &Block, config: &Value, mut planned: Value) -> Value {
    if !matches!(planned, Value::Known(Known::Object(_))) {
        return planned;
    }
    for a in &block.attributes {
        let c = attr(config, &a.name);
        update_attr(&mut planned, &a.name, |p| {
            if a.write_only {
                // Never planned: it must not count as a change either.
                Value::Null
            } else if c.is_null() {
                match &a.default {
                    Some(d) => d.clone(),
                    None => p,
                }
            } else if let AttributeType::Nested(n) = &a.ty {
                let inner = n.block();
                map_elements(n.nesting.into(), c, p, |ce, pe| {
                    apply_defaults(&inner, ce, pe)
                })
            } else {
                p
            }
        });
    }
    // Only where the configuration object itself is known: a block it leaves out is absent.
    let config_known = matches!(config, Value::Known(Known::Object(_)));
    for b in &block.blocks {
        let c = attr(config, &b.type_name);
        update_attr(&mut planned, &b.type_name, |p| {
            if b.nesting == BlockNesting::Single && config_known && c.is_null() {
                // Terraform 1.0.x proposes the prior block here; see `plan`.
                Value::Null
            } else {
                map_elements(b.nesting, c, p, |ce, pe| apply_defaults(&b.block, ce, pe))
            }
        });
    }
    planned
}

/// Applies `f(config_element, planned_element)` to each object of a nested value, matching
/// list and set elements by position and map elements by key.
fn map_elements(
    nesting: BlockNesting,
    config: &Value,
    planned: Value,
    mut f: impl FnMut(&Value, Value) -> Value,
) -> Value {
    match (nesting, planned) {
        (BlockNesting::Single | BlockNesting::Group, p) => f(config, p),
        (BlockNesting::List, Value::Known(Known::List(items))) => {
            let cs = config.as_list().unwrap_or(&[]);
            Value::Known(Known::List(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| f(cs.get(i).unwrap_or(&Value::Null), p))
                    .collect(),
            ))
        }
        (BlockNesting::Set, Value::Known(Known::Set(items))) => {
            let cs = config.as_list().unwrap_or(&[]);
            Value::Known(Known::Set(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| f(cs.get(i).unwrap_or(&Value::Null), p))
                    .collect(),
            ))
        }
        (BlockNesting::Map, Value::Known(Known::Map(items))) => {
            let empty = BTreeMap::new();
            let cs = config.as_map().unwrap_or(&empty);
            Value::Known(Known::Map(
                items
                    .into_iter()
                    .map(|(k, p)| {
                        let c = cs.get(&k).unwrap_or(&Value::Null);
                        let v = f(c, p);
                        (k, v)
                    })
                    .collect(),
            ))
        }
        (_, other) => other,
    }
}

struct Walk {
    changed: bool,
    creating: bool,
    requires_replace: Vec<AttributePath>,
    diagnostics: Diagnostics,
}

impl Walk {
    /// Pass 2 over one object of `block`.
    fn block(
        &mut self,
        block: &Block,
        path: &AttributePath,
        config: &Value,
        prior: &Value,
        mut planned: Value,
    ) -> Value {
        if !matches!(planned, Value::Known(Known::Object(_))) {
            return planned;
        }
        for a in &block.attributes {
            update_attr(&mut planned, &a.name, |p| {
                self.attribute(a, path, attr(config, &a.name), attr(prior, &a.name), p)
            });
        }
        for b in &block.blocks {
            update_attr(&mut planned, &b.type_name, |p| {
                self.nested_block(
                    b,
                    &path.clone().attr(&b.type_name),
                    attr(config, &b.type_name),
                    attr(prior, &b.type_name),
                    p,
                )
            });
        }
        planned
    }

    /// Pass 2 over one attribute of the object at `parent`.
    fn attribute(
        &mut self,
        a: &Attribute,
        parent: &AttributePath,
        config: &Value,
        prior: &Value,
        mut planned: Value,
    ) -> Value {
        if a.write_only {
            return Value::Null;
        }
        if self.changed && a.mode.is_computed() && config.is_null() && a.default.is_none() {
            planned = Value::Unknown;
        }
        let nested = matches!(a.ty, AttributeType::Nested(_))
            && !(planned.is_unknown() || planned.is_null());
        if !nested && a.plan_modifiers.is_empty() {
            return planned;
        }
        // The attribute's own path, only made when something needs it.
        let path = &parent.clone().attr(&a.name);
        if let (AttributeType::Nested(n), true) = (&a.ty, nested) {
            let inner = n.block();
            planned = self.elements(n.nesting.into(), &inner, path, config, prior, planned);
        }
        if a.plan_modifiers.is_empty() {
            return planned;
        }
        self.modifiers(a, path, config, prior, planned)
    }

    /// Pass 3 for one attribute: its plan modifiers in order; the replacement and diagnostics
    /// they ask for are recorded.
    fn modifiers(
        &mut self,
        a: &Attribute,
        path: &AttributePath,
        config: &Value,
        prior: &Value,
        planned: Value,
    ) -> Value {
        let req = AttributePlanRequest {
            path,
            config,
            state: prior,
            creating: self.creating,
        };
        let mut resp = AttributePlanResponse {
            plan: planned,
            requires_replace: false,
            diagnostics: Diagnostics::new(),
        };
        for m in &a.plan_modifiers {
            m.modify(&req, &mut resp);
        }
        if resp.requires_replace {
            self.requires_replace.push(path.clone());
        }
        self.diagnostics.extend(resp.diagnostics);
        resp.plan
    }

    /// A removed block: its attributes' plan modifiers run against a null plan, for the
    /// replacements they ask for (and the diagnostics they give, as for any attribute).
    fn removed(&mut self, block: &Block, path: &AttributePath, prior: &Value) {
        for a in &block.attributes {
            let state = attr(prior, &a.name);
            if !a.plan_modifiers.is_empty() && !state.is_null() {
                let path = path.clone().attr(&a.name);
                self.modifiers(a, &path, &Value::Null, state, Value::Null);
            }
        }
    }

    fn nested_block(
        &mut self,
        b: &NestedBlock,
        path: &AttributePath,
        config: &Value,
        prior: &Value,
        planned: Value,
    ) -> Value {
        self.elements(b.nesting, &b.block, path, config, prior, planned)
    }

    fn elements(
        &mut self,
        nesting: BlockNesting,
        block: &Block,
        path: &AttributePath,
        config: &Value,
        prior: &Value,
        planned: Value,
    ) -> Value {
        match (nesting, planned) {
            (BlockNesting::Single, Value::Null) if !self.creating && !prior.is_null() => {
                // The block is removed: attributes that force replacement do so when they had
                // a value (as when it is added, where they are planned against a null prior).
                self.removed(block, path, prior);
                Value::Null
            }
            (BlockNesting::Single | BlockNesting::Group, p) => {
                self.block(block, path, config, prior, p)
            }
            (BlockNesting::List, Value::Known(Known::List(items))) => {
                let cs = config.as_list().unwrap_or(&[]);
                let ps = prior.as_list().unwrap_or(&[]);
                let out = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let ip = path.clone().index(i as i64);
                        self.block(
                            block,
                            &ip,
                            cs.get(i).unwrap_or(&Value::Null),
                            ps.get(i).unwrap_or(&Value::Null),
                            p,
                        )
                    })
                    .collect();
                Value::Known(Known::List(out))
            }
            (BlockNesting::Set, Value::Known(Known::Set(items))) => {
                // Set elements have no stable address: plan each without a prior element.
                let cs = config.as_list().unwrap_or(&[]);
                let out = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        self.block(
                            block,
                            path,
                            cs.get(i).unwrap_or(&Value::Null),
                            &Value::Null,
                            p,
                        )
                    })
                    .collect();
                Value::Known(Known::Set(out))
            }
            (BlockNesting::Map, Value::Known(Known::Map(items))) => {
                let empty = BTreeMap::new();
                let cs = config.as_map().unwrap_or(&empty);
                let ps = prior.as_map().unwrap_or(&empty);
                let out = items
                    .into_iter()
                    .map(|(k, p)| {
                        let kp = path.clone().key(&k);
                        let v = self.block(
                            block,
                            &kp,
                            cs.get(&k).unwrap_or(&Value::Null),
                            ps.get(&k).unwrap_or(&Value::Null),
                            p,
                        );
                        (k, v)
                    })
                    .collect();
                Value::Known(Known::Map(out))
            }
            (_, other) => other,
        }
    }
}

/// The attributes declared to force replacement (at the top level and in single blocks)
/// whose planned value differs from `prior`: run after the resource's own plan changes, which
/// may derive such a value (a namespace defaulting to the name) after the modifiers ran. An
/// unknown plan is left to the modifiers: core asks again once it is known.
pub fn replaced_after(block: &Block, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    let mut out = Vec::new();
    replaced_in(block, &AttributePath::root(), prior, planned, &mut out);
    out
}

fn replaced_in(
    block: &Block,
    path: &AttributePath,
    prior: &Value,
    planned: &Value,
    out: &mut Vec<AttributePath>,
) {
    if prior.is_null() || !matches!(prior, Value::Known(Known::Object(_))) {
        return;
    }
    for a in &block.attributes {
        if !a.plan_modifiers.iter().any(|m| m.requires_replace()) {
            continue;
        }
        let (p, v) = (attr(prior, &a.name), attr(planned, &a.name));
        if !v.is_unknown() && p != v {
            out.push(path.clone().attr(&a.name));
        }
    }
    for b in &block.blocks {
        if b.nesting == BlockNesting::Single {
            let p = attr(prior, &b.type_name);
            let v = attr(planned, &b.type_name);
            if matches!(v, Value::Known(Known::Object(_))) {
                replaced_in(&b.block, &path.clone().attr(&b.type_name), p, v, out);
            }
        }
    }
}
