//! The change matrix, generated from the resource schemas: every optional attribute and block
//! of every resource is added, changed and removed; attributes with a default are then set to
//! it explicitly and left out again; required attributes are changed and changed back. The
//! values come from `values.json` (one line per attribute), or from the attribute's type where
//! any value does (booleans, string maps). A new attribute is covered without writing a test,
//! and one no value can be found for fails [`generate`] by name.
//!
//! Shared, by `#[path]`, by the RPC-level matrix (`src/protocol/tests/change_matrix.rs`, a model
//! of core for Terraform 1.0.x and today's) and the acceptance matrix
//! (`acceptance/change_matrix.rs`, real Terraform 1.0.3 and 1.15.5). The including module
//! provides `dp`, the provider's library crate.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::dp::framework::schema::{Attribute, AttributeType, Block, BlockNesting, Mode, Schema};
use super::dp::value::{self, Known, Type, Value};

/// Every resource of the provider, by type name: the matrix covers a new one without a test.
pub fn schemas() -> Vec<(&'static str, Schema)> {
    use super::dp::framework::Provider;
    super::dp::provider::DataplatformProvider
        .resources()
        .iter()
        .map(|r| (r.type_name(), r.schema()))
        .collect()
}

/// The per-attribute value table.
pub const VALUES: &str = include_str!("values.json");

/// The phases every case goes through in lockstep; a case with nothing to do in a phase keeps
/// its configuration (and must then plan no change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Optional: set to value `a`. Required: left at its base value.
    Add,
    /// Optional: `a` -> `b`. Required: base -> `b`.
    Change,
    /// Optional: removed from the configuration. Required: back to its base value.
    Remove,
    /// Attributes with a default, and blocks whose attributes all have defaults: written out
    /// with the default values.
    Default,
    /// ... and left out again.
    LeftOut,
}

pub const PHASES: [Phase; 5] = [
    Phase::Add,
    Phase::Change,
    Phase::Remove,
    Phase::Default,
    Phase::LeftOut,
];

/// What a phase must plan for a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: the configuration did not change, or changed to what is already planned.
    NoOp,
    /// A change (update or, for attributes that force it, replacement).
    Change,
    /// Either: an optional+computed attribute left out keeps its prior value.
    Any,
}

/// One attribute or block of one resource, exercised in its own resource instance.
#[derive(Clone, Debug)]
pub struct Case {
    /// `dataplatform_bi_service`.
    pub resource: String,
    /// Dotted path: `monitoring`, `monitoring.metrics_path`.
    pub path: String,
    /// The instance label in the configuration: the path with `.` as `__`.
    pub label: String,
    /// Configuration before the first phase.
    pub base: Json,
    /// Configuration and expectation per phase (phases not listed keep the last one).
    pub steps: Vec<(Phase, Json, Expect)>,
    /// A write-only attribute: only for Terraform 1.11 and later.
    pub write_only: bool,
}

impl Case {
    /// The configuration in `phase`, and what it must plan.
    pub fn at(&self, phase: Phase) -> (Json, Expect) {
        match self.steps.iter().find(|(p, _, _)| *p == phase) {
            Some((_, c, e)) => (c.clone(), *e),
            None => {
                let config = self
                    .steps
                    .iter()
                    .rev()
                    .find(|(p, _, _)| *p < phase)
                    .map_or_else(|| self.base.clone(), |(_, c, _)| c.clone());
                (config, Expect::NoOp)
            }
        }
    }
}

/// The table's entry for one path.
struct Entry {
    a: Option<Json>,
    b: Option<Json>,
    /// Why the path has no case of its own (the reason is kept in the table).
    skip: Option<String>,
    /// Why there is no second value: the case only adds and removes.
    only_add: bool,
    /// Why the path cannot be left out (the engine needs it, another setting needs it): it
    /// is in the base with `a`, changed to `b` and back, like a required attribute.
    change_only: bool,
    /// Other settings the case needs, by dotted path (`"create_namespace": true`).
    with: Vec<(Vec<String>, Json)>,
    /// Needs Terraform 1.11 or later.
    write_only: bool,
}

impl Entry {
    fn read(e: &Json) -> Entry {
        Entry {
            a: e.get("a").cloned(),
            b: e.get("b").cloned(),
            skip: e.get("skip").and_then(Json::as_str).map(str::to_string),
            only_add: e.get("only_add").is_some(),
            change_only: e.get("change_only").is_some(),
            with: e
                .get("with")
                .and_then(Json::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.split('.').map(str::to_string).collect(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            write_only: e.get("write_only").and_then(Json::as_bool).unwrap_or(false),
        }
    }

    /// `base` with the case's other settings.
    fn base(&self, base: &Json) -> Json {
        self.with
            .iter()
            .fold(base.clone(), |acc, (p, v)| put(&acc, p, Some(v.clone())))
    }
}

/// Every case of `resource`, with `@name@` in the base configuration replaced by a short name
/// unique to the case (`<short>-<n>`). Panics naming every attribute without a value.
pub fn generate(resource: &str, schema: &Schema) -> Vec<Case> {
    let table: Json = serde_json::from_str(VALUES).expect("values.json");
    let t = &table[resource];
    assert!(t.is_object(), "values.json has no entry for {resource}");
    let base = t["base"].clone();
    let short = t["short"].as_str().expect("short").to_string();
    let values = t["values"].as_object().cloned().unwrap_or_default();
    let mut g = Gen {
        resource,
        values,
        used: Vec::new(),
        missing: Vec::new(),
        cases: Vec::new(),
    };
    g.block(&schema.block, &[], &base, &base);
    for k in g.values.keys() {
        assert!(
            g.used.contains(k),
            "values.json: {resource}.{k} is not an attribute or block of the schema"
        );
    }
    assert!(
        g.missing.is_empty(),
        "values.json: no value for {}: add `\"a\"` and `\"b\"` (or `\"skip\"` with the reason)",
        g.missing
            .iter()
            .map(|m| format!("{resource}.{m}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut cases = g.cases;
    for (i, c) in cases.iter_mut().enumerate() {
        let name = format!("{short}-{i}");
        c.base = rename(&c.base, &name);
        for (_, config, _) in &mut c.steps {
            *config = rename(config, &name);
        }
    }
    cases
}

/// `v` with every string replaced by `f` of it.
fn map_strings(v: &Json, f: &impl Fn(&str) -> Json) -> Json {
    match v {
        Json::String(s) => f(s),
        Json::Array(a) => Json::Array(a.iter().map(|x| map_strings(x, f)).collect()),
        Json::Object(o) => Json::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), map_strings(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rename(v: &Json, name: &str) -> Json {
    map_strings(v, &|s| Json::String(s.replace("@name@", name)))
}

/// Replaces every string equal to a key of `tokens` (`"@subnet_ids@"`) by its value.
pub fn substitute(v: &Json, tokens: &BTreeMap<String, Json>) -> Json {
    map_strings(v, &|s| {
        tokens
            .get(s)
            .cloned()
            .unwrap_or_else(|| Json::String(s.to_string()))
    })
}

struct Gen<'a> {
    resource: &'a str,
    values: Map<String, Json>,
    used: Vec<String>,
    missing: Vec<String>,
    cases: Vec<Case>,
}

/// Sets (or, with `None`, removes) `path` below `root`; every step but the last is an object.
fn put(root: &Json, path: &[String], v: Option<Json>) -> Json {
    let mut out = root.clone();
    let mut cur = &mut out;
    for (i, step) in path.iter().enumerate() {
        let obj = match cur {
            Json::Object(o) => o,
            _ => panic!("{} is not an object in {root}", path[..i].join(".")),
        };
        if i + 1 == path.len() {
            match v {
                Some(v) => {
                    obj.insert(step.clone(), v);
                }
                None => {
                    obj.remove(step);
                }
            }
            return out;
        }
        cur = obj
            .entry(step.clone())
            .or_insert_with(|| Json::Object(Map::new()));
    }
    out
}

/// A schema default as configuration JSON.
fn default_json(v: &Value) -> Option<Json> {
    match v.as_known()? {
        Known::Bool(b) => Some(Json::Bool(*b)),
        Known::String(s) => Some(Json::String(s.clone())),
        Known::Number(n) => n.to_i64().map(Json::from),
        _ => None,
    }
}

impl Gen<'_> {
    fn entry(&mut self, key: &str, a: &Attribute) -> Option<Entry> {
        self.used.push(key.to_string());
        // Values any attribute of the type takes.
        let generated = match &a.ty {
            AttributeType::Value(Type::Bool) => {
                let a = !a.default.as_ref().and_then(Value::as_bool).unwrap_or(false);
                Some((Json::Bool(a), Json::Bool(!a)))
            }
            AttributeType::Value(Type::Map(t)) if **t == Type::String => Some((
                serde_json::json!({"matrix": "a"}),
                serde_json::json!({"matrix": "b", "second": "b"}),
            )),
            _ => None,
        };
        let mut e = Entry::read(self.values.get(key).unwrap_or(&Json::Null));
        if let (None, None, Some((x, y))) = (&e.a, &e.b, generated) {
            e.a = Some(x);
            e.b = Some(y);
        }
        if e.a.is_none() && e.b.is_none() && e.skip.is_none() {
            self.missing.push(key.to_string());
            return None;
        }
        Some(e)
    }

    fn block_entry(&mut self, key: &str) -> Option<Entry> {
        self.used.push(key.to_string());
        match self.values.get(key) {
            Some(e) => Some(Entry::read(e)),
            None => {
                self.missing.push(key.to_string());
                None
            }
        }
    }

    /// The cases of `block`'s attributes and blocks. `at` is the path of `block`'s object in
    /// the configuration, `base` the configuration in which that object exists, `present` the
    /// object as it is there.
    fn block(&mut self, block: &Block, at: &[String], base: &Json, present: &Json) {
        for a in &block.attributes {
            if a.mode == Mode::Computed {
                continue;
            }
            let mut path = at.to_vec();
            path.push(a.name.clone());
            let key = path.join(".");
            let Some(e) = self.entry(&key, a) else {
                continue;
            };
            if e.skip.is_some() {
                continue;
            }
            let write_only = a.write_only || e.write_only;
            let base = &e.base(base);
            let mut steps = Vec::new();
            let case_base;
            if a.mode == Mode::Required || e.change_only {
                // Changed and changed back: the base holds its value.
                let Some(b) = e.b else {
                    self.missing.push(format!("{key} (\"b\")"));
                    continue;
                };
                case_base = match e.a {
                    Some(va) if e.change_only => put(base, &path, Some(va)),
                    _ => base.clone(),
                };
                let change = if a.write_only {
                    Expect::NoOp
                } else {
                    Expect::Change
                };
                steps.push((Phase::Change, put(&case_base, &path, Some(b)), change));
                steps.push((Phase::Remove, case_base.clone(), change));
            } else {
                let Some(va) = e.a else {
                    self.missing.push(format!("{key} (\"a\")"));
                    continue;
                };
                if e.b.is_none() && !e.only_add {
                    self.missing.push(format!("{key} (\"b\")"));
                    continue;
                }
                let default = a.default.as_ref().and_then(default_json);
                case_base = put(base, &path, None);
                let change = if a.write_only {
                    Expect::NoOp
                } else {
                    Expect::Change
                };
                steps.push((Phase::Add, put(base, &path, Some(va.clone())), change));
                let last = match e.b {
                    Some(vb) => {
                        steps.push((Phase::Change, put(base, &path, Some(vb.clone())), change));
                        vb
                    }
                    None => va,
                };
                let removed = if a.write_only || default.as_ref() == Some(&last) {
                    Expect::NoOp
                } else if a.mode == Mode::OptionalComputed && default.is_none() {
                    Expect::Any
                } else {
                    Expect::Change
                };
                steps.push((Phase::Remove, case_base.clone(), removed));
                if let Some(d) = default {
                    steps.push((Phase::Default, put(base, &path, Some(d)), Expect::NoOp));
                    steps.push((Phase::LeftOut, case_base.clone(), Expect::NoOp));
                }
            }
            self.cases.push(Case {
                resource: self.resource.to_string(),
                label: key.replace('.', "__"),
                path: key,
                base: case_base,
                steps,
                write_only,
            });
        }
        for b in &block.blocks {
            let mut path = at.to_vec();
            path.push(b.type_name.clone());
            let key = path.join(".");
            let existing = present.get(&b.type_name).cloned();
            let required = b.min_items > 0;
            if required {
                // Required blocks are in the base; their attributes have cases of their own.
                let inner = existing.unwrap_or_else(|| {
                    panic!("values.json: the base of {} lacks {key}", self.resource)
                });
                self.block(&b.block, &path, base, &inner);
                continue;
            }
            let Some(e) = self.block_entry(&key) else {
                continue;
            };
            if let Some(_reason) = &e.skip {
                continue;
            }
            let (Some(va), Some(vb)) = (e.a.clone(), e.b.clone()) else {
                self.missing.push(format!("{key} (\"a\" and \"b\")"));
                continue;
            };
            let base = &e.base(base);
            if e.change_only {
                let case_base = put(base, &path, Some(va.clone()));
                self.cases.push(Case {
                    resource: self.resource.to_string(),
                    label: key.replace('.', "__"),
                    path: key.clone(),
                    base: case_base.clone(),
                    steps: vec![
                        (Phase::Change, put(base, &path, Some(vb)), Expect::Change),
                        (Phase::Remove, case_base, Expect::Change),
                    ],
                    write_only: false,
                });
                let inner_base = put(base, &path, Some(va.clone()));
                self.block(&b.block, &path, &inner_base, &va);
                continue;
            }
            let case_base = put(base, &path, None);
            let mut steps = vec![
                (
                    Phase::Add,
                    put(base, &path, Some(va.clone())),
                    Expect::Change,
                ),
                (Phase::Change, put(base, &path, Some(vb)), Expect::Change),
                (Phase::Remove, case_base.clone(), Expect::Change),
            ];
            // A block whose attributes all have defaults: written out with them, then left out.
            if b.nesting == BlockNesting::Single
                && !b.block.attributes.is_empty()
                && b.block.attributes.iter().all(|a| a.default.is_some())
            {
                let defaults: Map<String, Json> = b
                    .block
                    .attributes
                    .iter()
                    .filter_map(|a| {
                        Some((a.name.clone(), a.default.as_ref().and_then(default_json)?))
                    })
                    .collect();
                steps.push((
                    Phase::Default,
                    put(base, &path, Some(Json::Object(defaults))),
                    Expect::Any,
                ));
                steps.push((Phase::LeftOut, case_base.clone(), Expect::Any));
            }
            self.cases.push(Case {
                resource: self.resource.to_string(),
                label: key.replace('.', "__"),
                path: key.clone(),
                base: case_base,
                steps,
                write_only: false,
            });
            // The block's attributes, each in a base holding the block as `a` writes it.
            let element = match b.nesting {
                BlockNesting::List | BlockNesting::Set => va.get(0).cloned().unwrap_or(Json::Null),
                _ => va.clone(),
            };
            if b.nesting == BlockNesting::Single {
                let inner_base = put(base, &path, Some(element.clone()));
                self.block(&b.block, &path, &inner_base, &element);
            } else {
                // Attributes of list elements are covered by the block's own change.
                for a in &b.block.attributes {
                    self.used.push(format!("{key}.{}", a.name));
                }
            }
        }
    }
}

/// The configuration value of `json` (Terraform's JSON syntax for a resource body) for
/// `block`: attributes left out are null, blocks left out absent.
pub fn config_value(block: &Block, json: &Json) -> Value {
    let empty = Map::new();
    let obj = json.as_object().unwrap_or(&empty);
    let mut fields = BTreeMap::new();
    for a in &block.attributes {
        let v = match obj.get(&a.name) {
            None | Some(Json::Null) => Value::Null,
            Some(j) => value::decode_json_value(j, &a.value_type())
                .unwrap_or_else(|e| panic!("{}: {j} is not a {:?}: {e}", a.name, a.value_type())),
        };
        fields.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let v = match obj.get(&b.type_name) {
            None | Some(Json::Null) => b.absent_value(),
            Some(j) => match b.nesting {
                BlockNesting::Single | BlockNesting::Group => config_value(&b.block, j),
                BlockNesting::List => Value::list(
                    j.as_array()
                        .map(|items| items.iter().map(|i| config_value(&b.block, i)).collect())
                        .unwrap_or_default(),
                ),
                BlockNesting::Set => Value::set(
                    j.as_array()
                        .map(|items| items.iter().map(|i| config_value(&b.block, i)).collect())
                        .unwrap_or_default(),
                ),
                BlockNesting::Map => Value::map(
                    j.as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, i)| (k.clone(), config_value(&b.block, i)))
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default(),
                ),
            },
        };
        fields.insert(b.type_name.clone(), v);
    }
    Value::object(fields)
}

/// The paths (dotted, through single blocks) of attributes that force replacement.
pub fn replacing_paths(block: &Block) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for a in &block.attributes {
        if a.plan_modifiers.iter().any(|m| m.requires_replace()) {
            out.push(vec![a.name.clone()]);
        }
    }
    for b in &block.blocks {
        for mut p in replacing_paths(&b.block) {
            p.insert(0, b.type_name.clone());
            out.push(p);
        }
    }
    out
}

/// The attributes that force replacement and change from `before` to `after`, as
/// `path: before -> after`.
pub fn replacing_changes(
    block: &Block,
    before: &Json,
    after: &Json,
    after_unknown: &Json,
) -> Vec<String> {
    replacing_paths(block)
        .iter()
        .filter_map(|p| {
            let get = |root: &Json| {
                let mut cur = root.clone();
                for step in p {
                    cur = match cur {
                        // A single block in the JSON plan of older versions may be a list of one.
                        Json::Array(items) => {
                            items.first().map(|i| i[step].clone()).unwrap_or(Json::Null)
                        }
                        other => other[step].clone(),
                    };
                }
                cur
            };
            let (b, a, u) = (get(before), get(after), get(after_unknown));
            (u == Json::Bool(true) || b != a).then(|| {
                format!(
                    "{}: {b} -> {a}{}",
                    p.join("."),
                    if u == Json::Bool(true) {
                        " (known after apply)"
                    } else {
                        ""
                    }
                )
            })
        })
        .collect()
}

/// Whether a plan from `before` to `after` must replace: some attribute that forces replacement
/// changed, or is unknown in `after` (provider values; [`replacing_changes`] reads plan JSON).
pub fn must_replace_value(block: &Block, before: &Value, after: &Value) -> bool {
    replacing_paths(block).iter().any(|p| {
        let get = |root: &Value| {
            let mut cur = root.clone();
            for step in p {
                if cur.is_unknown() {
                    return Value::Unknown;
                }
                cur = cur.get_attr(step).cloned().unwrap_or(Value::Null);
            }
            cur
        };
        let a = get(after);
        a.is_unknown() || get(before) != a
    })
}
