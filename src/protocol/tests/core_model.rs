//! What Terraform core does around PlanResourceChange, modelled for the two versions the
//! provider supports, so the plan pipeline can be checked against both without Terraform:
//!
//! - [`proposed_new`]: the proposed new state core sends (`objchange.ProposedNew`). It differs
//!   in one place: for a single block the configuration leaves out, Terraform 1.0.x (protocol
//!   6.0) proposes the prior block, today's Terraform (1.15, protocol 6.10) proposes null.
//! - [`assert_plan_valid`]: the checks core makes on the planned state
//!   (`objchange.AssertPlanValid`, the same rules in both versions), with core's messages.
//! - [`applied`]: a stand-in for ApplyResourceChange: the planned state with every unknown
//!   replaced by a value of its type.

use std::collections::BTreeMap;

use crate::framework::schema::{AttributeType, Block, BlockNesting, NestedBlock};
use crate::value::{Known, Type, Value};

/// The Terraform versions modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Core {
    /// Terraform 1.0.3, protocol 6.0.
    V1_0,
    /// Terraform 1.15.5, protocol 6.10.
    V1_15,
}

pub const CORES: [Core; 2] = [Core::V1_0, Core::V1_15];

fn attr<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get_attr(name).unwrap_or(&Value::Null)
}

/// `objchange.ProposedNew`: configured values from `config`, computed values the
/// configuration leaves null from `prior`.
pub fn proposed_new(core: Core, block: &Block, prior: &Value, config: &Value) -> Value {
    if config.is_null() && prior.is_null() {
        return Value::Null;
    }
    let prior = if prior.is_null() {
        block.null_object()
    } else {
        prior.clone()
    };
    proposed_object(core, block, &prior, config)
}

fn proposed_object(core: Core, block: &Block, prior: &Value, config: &Value) -> Value {
    // Both versions: a null or unknown configuration object takes the prior object.
    if config.is_null() || config.is_unknown() {
        return prior.clone();
    }
    let mut out = BTreeMap::new();
    for a in &block.attributes {
        let c = attr(config, &a.name);
        let p = attr(prior, &a.name);
        let v = if a.mode.is_computed() && c.is_null() {
            p.clone()
        } else if let (AttributeType::Nested(n), true) = (&a.ty, c.is_known() && !c.is_null()) {
            let nb = NestedBlock::new(&a.name, n.nesting.into(), n.block());
            proposed_nested(core, &nb, p, c)
        } else {
            c.clone()
        };
        out.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let v = proposed_nested(
            core,
            b,
            attr(prior, &b.type_name),
            attr(config, &b.type_name),
        );
        out.insert(b.type_name.clone(), v);
    }
    Value::object(out)
}

fn proposed_nested(core: Core, b: &NestedBlock, prior: &Value, config: &Value) -> Value {
    // `dynamic` over an unknown collection: the whole block is unknown.
    if config.is_unknown() {
        return Value::Unknown;
    }
    match b.nesting {
        BlockNesting::Single if core == Core::V1_15 && config.is_null() => Value::Null,
        // Terraform 1.0.x has no case for a null single block: `ProposedNew` of a null
        // configuration is the prior object (or null when there is none).
        BlockNesting::Single | BlockNesting::Group => proposed_new(core, &b.block, prior, config),
        BlockNesting::List => {
            let cs = config.as_list().unwrap_or(&[]);
            let ps = prior.as_list().unwrap_or(&[]);
            Value::list(
                cs.iter()
                    .enumerate()
                    .map(|(i, c)| match ps.get(i) {
                        Some(p) => proposed_new(core, &b.block, p, c),
                        None => c.clone(),
                    })
                    .collect(),
            )
        }
        BlockNesting::Set => {
            // Elements are correlated by their non-computed attributes.
            let cs = config.as_list().unwrap_or(&[]);
            let ps = prior.as_list().unwrap_or(&[]);
            let mut used = vec![false; ps.len()];
            Value::set(
                cs.iter()
                    .map(|c| {
                        let matched = ps
                            .iter()
                            .enumerate()
                            .position(|(i, p)| !used[i] && without_computed(&b.block, p) == *c);
                        let p = match matched {
                            Some(i) => {
                                used[i] = true;
                                ps[i].clone()
                            }
                            None => Value::Null,
                        };
                        proposed_new(core, &b.block, &p, c)
                    })
                    .collect(),
            )
        }
        BlockNesting::Map => {
            let empty = BTreeMap::new();
            let cs = config.as_map().unwrap_or(&empty);
            let ps = prior.as_map().unwrap_or(&empty);
            Value::map(cs.iter().map(|(k, c)| {
                let v = match ps.get(k) {
                    Some(p) => proposed_new(core, &b.block, p, c),
                    None => c.clone(),
                };
                (k.clone(), v)
            }))
        }
    }
}

/// What core compares a prior set element with the configuration by
/// (`setElementCompareValue`): the element with every computed attribute null, nested blocks
/// likewise.
fn without_computed(block: &Block, v: &Value) -> Value {
    let Some(Known::Object(fields)) = v.as_known() else {
        return v.clone();
    };
    let mut out = fields.clone();
    for a in &block.attributes {
        if a.mode.is_computed() {
            out.insert(a.name.clone(), Value::Null);
        }
    }
    for b in &block.blocks {
        let inner = attr(v, &b.type_name);
        let stripped = match (b.nesting, inner.as_known()) {
            (BlockNesting::Single | BlockNesting::Group, Some(_)) => {
                without_computed(&b.block, inner)
            }
            (BlockNesting::List, Some(Known::List(items))) => Value::list(
                items
                    .iter()
                    .map(|i| without_computed(&b.block, i))
                    .collect(),
            ),
            (BlockNesting::Set, Some(Known::Set(items))) => Value::set(
                items
                    .iter()
                    .map(|i| without_computed(&b.block, i))
                    .collect(),
            ),
            (BlockNesting::Map, Some(Known::Map(items))) => Value::map(
                items
                    .iter()
                    .map(|(k, i)| (k.clone(), without_computed(&b.block, i))),
            ),
            _ => inner.clone(),
        };
        out.insert(b.type_name.clone(), stripped);
    }
    Value::object(out)
}

/// `objchange.AssertPlanValid`: the errors core reports as "Provider produced invalid plan".
pub fn assert_plan_valid(
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &Value,
) -> Vec<String> {
    let mut errs = Vec::new();
    object_valid(block, prior, config, planned, "", &mut errs);
    errs
}

fn object_valid(
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &Value,
    path: &str,
    errs: &mut Vec<String>,
) {
    if planned.is_null() && !config.is_null() {
        errs.push(format!(
            "{path}: planned for absence but config wants existence"
        ));
        return;
    }
    if config.is_null() && !planned.is_null() {
        errs.push(format!(
            "{path}: planned for existence but config wants absense"
        ));
        return;
    }
    if planned.is_null() {
        return;
    }
    for a in &block.attributes {
        let at = format!("{path}.{}", a.name);
        let (p, c, v) = (
            attr(prior, &a.name),
            attr(config, &a.name),
            attr(planned, &a.name),
        );
        if a.write_only {
            // Terraform 1.11+: never planned, whatever the configuration says.
            if !v.is_null() {
                errs.push(format!("{at}: planned a value for a write-only attribute"));
            }
            continue;
        }
        if v == c || (v == p && !p.is_null() && !c.is_null()) {
            continue;
        }
        if a.mode.is_computed() && (!a.mode.is_optional() || c.is_null()) {
            continue;
        }
        if c.is_null() {
            errs.push(format!(
                "{at}: planned value {v:?} for a non-computed attribute"
            ));
        } else if p.is_null() {
            errs.push(format!(
                "{at}: planned value {v:?} does not match config value {c:?}"
            ));
        } else {
            errs.push(format!(
                "{at}: planned value {v:?} does not match config value {c:?} nor prior value {p:?}"
            ));
        }
    }
    for b in &block.blocks {
        let at = format!("{path}.{}", b.type_name);
        let (p, c, v) = (
            attr(prior, &b.type_name),
            attr(config, &b.type_name),
            attr(planned, &b.type_name),
        );
        if v == c {
            continue;
        }
        if v.is_unknown() {
            errs.push(format!(
                "{at}: attribute representing nested block must not be unknown itself; set nested attribute values to unknown instead"
            ));
            continue;
        }
        match b.nesting {
            BlockNesting::Single | BlockNesting::Group => {
                object_valid(&b.block, p, c, v, &at, errs)
            }
            BlockNesting::List | BlockNesting::Set => {
                if v.is_null() {
                    errs.push(format!(
                        "{at}: attribute representing a list of nested blocks must be empty to indicate no blocks, not null"
                    ));
                    continue;
                }
                if c.is_unknown() {
                    continue;
                }
                let (cs, vs) = (c.as_list().unwrap_or(&[]), v.as_list().unwrap_or(&[]));
                if cs.len() != vs.len() {
                    errs.push(format!(
                        "{at}: block count in plan ({}) disagrees with count in config ({})",
                        vs.len(),
                        cs.len()
                    ));
                    continue;
                }
                if b.nesting == BlockNesting::Set {
                    // Core cannot correlate set elements; it only rejects unknown ones.
                    for e in vs {
                        if e.is_unknown() {
                            errs.push(format!("{at}: element representing nested block must not be unknown itself"));
                        }
                    }
                    continue;
                }
                let ps = p.as_list().unwrap_or(&[]);
                for (i, (ce, ve)) in cs.iter().zip(vs).enumerate() {
                    let pe = ps.get(i).unwrap_or(&Value::Null);
                    object_valid(&b.block, pe, ce, ve, &format!("{at}[{i}]"), errs);
                }
            }
            BlockNesting::Map => {
                if v.is_null() {
                    errs.push(format!(
                        "{at}: attribute representing a map of nested blocks must be empty to indicate no blocks, not null"
                    ));
                    continue;
                }
                if c.is_unknown() {
                    continue;
                }
                let empty = BTreeMap::new();
                let (cs, vs, ps) = (
                    c.as_map().unwrap_or(&empty),
                    v.as_map().unwrap_or(&empty),
                    p.as_map().unwrap_or(&empty),
                );
                for k in vs.keys().filter(|k| !cs.contains_key(*k)) {
                    errs.push(format!(
                        "{at}[{k:?}]: block key {k:?} has planned value, but is not in config"
                    ));
                }
                for (k, ce) in cs {
                    match vs.get(k) {
                        None => errs.push(format!(
                            "{at}[{k:?}]: block key {k:?} from config is not present in plan"
                        )),
                        Some(ve) => object_valid(
                            &b.block,
                            ps.get(k).unwrap_or(&Value::Null),
                            ce,
                            ve,
                            &format!("{at}[{k:?}]"),
                            errs,
                        ),
                    }
                }
            }
        }
    }
}

/// The state an apply of `planned` leaves: every unknown replaced by a value of its type.
pub fn applied(block: &Block, planned: &Value) -> Value {
    fill(&block.value_type(), planned)
}

fn fill(ty: &Type, v: &Value) -> Value {
    match (ty, v) {
        (_, Value::Null) => Value::Null,
        (Type::String, Value::Unknown) => Value::string("(applied)"),
        (Type::Number, Value::Unknown) => Value::number(1i64),
        (Type::Bool, Value::Unknown) => Value::bool(false),
        (Type::List(_), Value::Unknown) => Value::list(Vec::new()),
        (Type::Set(_), Value::Unknown) => Value::set(Vec::new()),
        (Type::Map(_), Value::Unknown) => Value::map(BTreeMap::<String, Value>::new()),
        (Type::Object { attributes, .. }, Value::Unknown) => Value::object(
            attributes
                .iter()
                .map(|(k, t)| (k.clone(), fill(t, &Value::Unknown))),
        ),
        (_, Value::Unknown) => Value::Null,
        (Type::List(t), Value::Known(Known::List(items))) => {
            Value::list(items.iter().map(|i| fill(t, i)).collect())
        }
        (Type::Set(t), Value::Known(Known::Set(items))) => {
            Value::set(items.iter().map(|i| fill(t, i)).collect())
        }
        (Type::Map(t), Value::Known(Known::Map(items))) => {
            Value::map(items.iter().map(|(k, i)| (k.clone(), fill(t, i))))
        }
        (Type::Object { attributes, .. }, Value::Known(Known::Object(fields))) => {
            Value::object(fields.iter().map(|(k, i)| {
                let t = attributes.get(k).unwrap_or(&Type::Dynamic);
                (k.clone(), fill(t, i))
            }))
        }
        (_, other) => other.clone(),
    }
}
