//! Values: null, unknown, or known data shaped by a [`Type`].
//!
//! A [`Value`] does not carry its type (except in dynamic slots, see
//! [`Known::Dynamic`]); the codecs take the type alongside.

use std::collections::BTreeMap;
use std::convert::Infallible;

use super::number::Number;
use super::path::{AttributePath, PathStep};
use super::types::Type;

/// A value of some (externally known) type.
#[derive(Clone, Debug)]
pub enum Value {
    /// Null, valid in a slot of any type.
    Null,
    /// Not known until apply. Equality treats all unknowns as equal: this
    /// compares the marker, not cty's "unknown equals nothing" semantics.
    Unknown,
    /// A known, non-null value.
    Known(Known),
}

/// The data of a known value.
#[derive(Clone, Debug)]
pub enum Known {
    /// A `bool`.
    Bool(bool),
    /// A `number`.
    Number(Number),
    /// A `string`.
    String(String),
    /// A `list(T)`.
    List(Vec<Value>),
    /// A `set(T)`; compared as an unordered multiset.
    Set(Vec<Value>),
    /// A `tuple([...])`.
    Tuple(Vec<Value>),
    /// A `map(T)`.
    Map(BTreeMap<String, Value>),
    /// An `object({...})`.
    Object(BTreeMap<String, Value>),
    /// a value of a `dynamic`-typed slot: the concrete type it arrived with, and the value
    Dynamic(Type, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) | (Self::Unknown, Self::Unknown) => true,
            (Self::Known(a), Self::Known(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl PartialEq for Known {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Number(a), Self::Number(b)) => a == b,
            (Self::String(a), Self::String(b)) => a == b,
            (Self::List(a), Self::List(b)) | (Self::Tuple(a), Self::Tuple(b)) => a == b,
            (Self::Set(a), Self::Set(b)) => multiset_eq(a, b),
            (Self::Map(a), Self::Map(b)) | (Self::Object(a), Self::Object(b)) => a == b,
            (Self::Dynamic(ta, a), Self::Dynamic(tb, b)) => ta == tb && a == b,
            _ => false,
        }
    }
}

impl Eq for Known {}

/// Whether `a` and `b` hold the same elements with the same multiplicities.
fn multiset_eq(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|x| {
        let found = b.iter().zip(used.iter()).position(|(y, &u)| !u && x == y);
        found.is_some_and(|i| {
            used[i] = true;
            true
        })
    })
}

impl Known {
    /// A short name for messages: "string", "list", "dynamic value", ...
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Bool(_) => "bool",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::List(_) => "list",
            Self::Set(_) => "set",
            Self::Tuple(_) => "tuple",
            Self::Map(_) => "map",
            Self::Object(_) => "object",
            Self::Dynamic(..) => "dynamic value",
        }
    }
}

impl From<Known> for Value {
    fn from(k: Known) -> Self {
        Self::Known(k)
    }
}

impl Value {
    /// A known string.
    #[must_use]
    pub fn string(s: impl Into<String>) -> Self {
        Self::Known(Known::String(s.into()))
    }

    /// A known bool.
    #[must_use]
    pub fn bool(b: bool) -> Self {
        Self::Known(Known::Bool(b))
    }

    /// A known number.
    #[must_use]
    pub fn number(n: impl Into<Number>) -> Self {
        Self::Known(Known::Number(n.into()))
    }

    /// A known list.
    #[must_use]
    pub fn list(items: Vec<Value>) -> Self {
        Self::Known(Known::List(items))
    }

    /// A known set.
    #[must_use]
    pub fn set(items: Vec<Value>) -> Self {
        Self::Known(Known::Set(items))
    }

    /// A known tuple.
    #[must_use]
    pub fn tuple(items: Vec<Value>) -> Self {
        Self::Known(Known::Tuple(items))
    }

    /// A known map.
    #[must_use]
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Self {
        Self::Known(Known::Map(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// A known object.
    #[must_use]
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Self::Known(Known::Object(
            attrs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// A value in a dynamic slot, with its concrete type.
    #[must_use]
    pub fn dynamic(ty: Type, value: Value) -> Self {
        Self::Known(Known::Dynamic(ty, Box::new(value)))
    }

    /// The null of `ty`. Nulls are untyped here, so this is always
    /// [`Value::Null`]; it exists to make call sites read like cty.
    #[must_use]
    pub fn null_of(_ty: &Type) -> Self {
        Self::Null
    }

    /// For an object type, a known object with every attribute null;
    /// `None` for other types.
    #[must_use]
    pub fn object_of_nulls(ty: &Type) -> Option<Self> {
        match ty {
            Type::Object { attributes, .. } => Some(Self::Known(Known::Object(
                attributes.keys().map(|k| (k.clone(), Self::Null)).collect(),
            ))),
            _ => None,
        }
    }

    /// Whether this is null.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Whether this is unknown (at the top level).
    #[must_use]
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Unknown)
    }

    /// Whether this is known (at the top level; null counts as known).
    #[must_use]
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }

    /// Whether there is no unknown anywhere inside this value.
    #[must_use]
    pub fn is_fully_known(&self) -> bool {
        match self {
            Self::Null => true,
            Self::Unknown => false,
            Self::Known(k) => match k {
                Known::Bool(_) | Known::Number(_) | Known::String(_) => true,
                Known::List(v) | Known::Set(v) | Known::Tuple(v) => {
                    v.iter().all(Self::is_fully_known)
                }
                Known::Map(m) | Known::Object(m) => m.values().all(Self::is_fully_known),
                Known::Dynamic(_, v) => v.is_fully_known(),
            },
        }
    }

    /// The value inside any [`Known::Dynamic`] wrappers (or `self`).
    #[must_use]
    pub fn unwrap_dynamic(&self) -> &Value {
        match self {
            Self::Known(Known::Dynamic(_, inner)) => inner.unwrap_dynamic(),
            other => other,
        }
    }

    /// Mutable form of [`Value::unwrap_dynamic`].
    pub fn unwrap_dynamic_mut(&mut self) -> &mut Value {
        match self {
            Self::Known(Known::Dynamic(_, inner)) => inner.unwrap_dynamic_mut(),
            other => other,
        }
    }

    /// The known data, seen through dynamic wrappers.
    #[must_use]
    pub fn as_known(&self) -> Option<&Known> {
        match self.unwrap_dynamic() {
            Self::Known(k) => Some(k),
            _ => None,
        }
    }

    fn as_known_mut(&mut self) -> Option<&mut Known> {
        match self.unwrap_dynamic_mut() {
            Self::Known(k) => Some(k),
            _ => None,
        }
    }

    /// The string, if this is a known string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self.as_known() {
            Some(Known::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is a known bool.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_known() {
            Some(Known::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a known number.
    #[must_use]
    pub fn as_number(&self) -> Option<&Number> {
        match self.as_known() {
            Some(Known::Number(n)) => Some(n),
            _ => None,
        }
    }

    /// The elements, if this is a known list, set or tuple.
    #[must_use]
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.as_known() {
            Some(Known::List(v) | Known::Set(v) | Known::Tuple(v)) => Some(v),
            _ => None,
        }
    }

    /// The entries, if this is a known map or object.
    #[must_use]
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.as_known() {
            Some(Known::Map(m) | Known::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// An attribute of a known object.
    #[must_use]
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self.as_known() {
            Some(Known::Object(m)) => m.get(name),
            _ => None,
        }
    }

    /// Mutable access to an attribute of a known object.
    pub fn get_attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self.as_known_mut() {
            Some(Known::Object(m)) => m.get_mut(name),
            _ => None,
        }
    }

    /// One step down: object attribute, map key, or list/set/tuple index.
    #[must_use]
    pub fn step(&self, step: &PathStep) -> Option<&Value> {
        match (self.as_known()?, step) {
            (Known::Object(m), PathStep::Attribute(name)) => m.get(name),
            (Known::Map(m), PathStep::ElementKeyString(key)) => m.get(key),
            (Known::List(v) | Known::Set(v) | Known::Tuple(v), PathStep::ElementKeyInt(i)) => {
                v.get(usize::try_from(*i).ok()?)
            }
            _ => None,
        }
    }

    /// Mutable form of [`Value::step`].
    pub fn step_mut(&mut self, step: &PathStep) -> Option<&mut Value> {
        match (self.as_known_mut()?, step) {
            (Known::Object(m), PathStep::Attribute(name)) => m.get_mut(name),
            (Known::Map(m), PathStep::ElementKeyString(key)) => m.get_mut(key),
            (Known::List(v) | Known::Set(v) | Known::Tuple(v), PathStep::ElementKeyInt(i)) => {
                v.get_mut(usize::try_from(*i).ok()?)
            }
            _ => None,
        }
    }

    /// The value at `path`, seeing through dynamic wrappers; set elements
    /// are addressed by position.
    #[must_use]
    pub fn walk(&self, path: &AttributePath) -> Option<&Value> {
        path.steps().iter().try_fold(self, |v, s| v.step(s))
    }

    /// Mutable form of [`Value::walk`].
    pub fn walk_mut(&mut self, path: &AttributePath) -> Option<&mut Value> {
        path.steps().iter().try_fold(self, |v, s| v.step_mut(s))
    }

    /// Rewrites the value depth-first, post-order: children are rewritten
    /// before their parent, and `f` sees each node with its path. Set
    /// elements get their position as an index step. The inner value of a
    /// [`Known::Dynamic`] is visited at the same path as its wrapper, just
    /// before the wrapper.
    #[must_use]
    pub fn transform<F: FnMut(&AttributePath, Value) -> Value>(self, f: &mut F) -> Value {
        let result: Result<Value, Infallible> = self.try_transform(&mut |p, v| Ok(f(p, v)));
        match result {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Fallible form of [`Value::transform`]; stops at the first error.
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn try_transform<E, F>(self, f: &mut F) -> Result<Value, E>
    where
        F: FnMut(&AttributePath, Value) -> Result<Value, E>,
    {
        let mut path = AttributePath::root();
        transform_at(self, &mut path, f)
    }
}

fn transform_at<E, F>(value: Value, path: &mut AttributePath, f: &mut F) -> Result<Value, E>
where
    F: FnMut(&AttributePath, Value) -> Result<Value, E>,
{
    let rebuilt = match value {
        Value::Known(k) => Value::Known(match k {
            Known::List(v) => Known::List(transform_seq(v, path, f)?),
            Known::Set(v) => Known::Set(transform_seq(v, path, f)?),
            Known::Tuple(v) => Known::Tuple(transform_seq(v, path, f)?),
            Known::Map(m) => Known::Map(transform_entries(m, path, f, PathStep::ElementKeyString)?),
            Known::Object(m) => Known::Object(transform_entries(m, path, f, PathStep::Attribute)?),
            Known::Dynamic(ty, inner) => {
                Known::Dynamic(ty, Box::new(transform_at(*inner, path, f)?))
            }
            primitive => primitive,
        }),
        other => other,
    };
    f(path, rebuilt)
}

fn transform_seq<E, F>(
    items: Vec<Value>,
    path: &mut AttributePath,
    f: &mut F,
) -> Result<Vec<Value>, E>
where
    F: FnMut(&AttributePath, Value) -> Result<Value, E>,
{
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        path.push(PathStep::ElementKeyInt(
            i64::try_from(i).unwrap_or(i64::MAX),
        ));
        let r = transform_at(item, path, f);
        path.pop();
        out.push(r?);
    }
    Ok(out)
}

fn transform_entries<E, F>(
    entries: BTreeMap<String, Value>,
    path: &mut AttributePath,
    f: &mut F,
    step: fn(String) -> PathStep,
) -> Result<BTreeMap<String, Value>, E>
where
    F: FnMut(&AttributePath, Value) -> Result<Value, E>,
{
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        path.push(step(k.clone()));
        let r = transform_at(v, path, f);
        path.pop();
        out.insert(k, r?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Value::object([
            ("name", Value::string("n")),
            (
                "tags",
                Value::map([("a", Value::list(vec![Value::number(1), Value::Unknown]))]),
            ),
            ("dyn", Value::dynamic(Type::String, Value::string("d"))),
            ("empty", Value::Null),
        ])
    }

    #[test]
    fn equality_rules() {
        let cases = [
            (Value::Null, Value::Null, true),
            (Value::Unknown, Value::Unknown, true),
            (Value::Null, Value::Unknown, false),
            (
                Value::number(1),
                Value::Known(Known::Number("1.0".parse().unwrap_or(Number::PosInf))),
                true,
            ),
            (
                Value::set(vec![
                    Value::string("a"),
                    Value::string("b"),
                    Value::string("a"),
                ]),
                Value::set(vec![
                    Value::string("a"),
                    Value::string("a"),
                    Value::string("b"),
                ]),
                true,
            ),
            (
                Value::set(vec![
                    Value::string("a"),
                    Value::string("b"),
                    Value::string("b"),
                ]),
                Value::set(vec![
                    Value::string("a"),
                    Value::string("a"),
                    Value::string("b"),
                ]),
                false,
            ),
            (
                Value::list(vec![Value::string("a"), Value::string("b")]),
                Value::list(vec![Value::string("b"), Value::string("a")]),
                false,
            ),
            (
                Value::list(vec![Value::string("a")]),
                Value::set(vec![Value::string("a")]),
                false,
            ),
            (
                Value::map([("a", Value::bool(true))]),
                Value::object([("a", Value::bool(true))]),
                false,
            ),
            (
                Value::dynamic(Type::String, Value::string("x")),
                Value::dynamic(Type::Dynamic, Value::string("x")),
                false,
            ),
            (
                Value::string("x"),
                Value::dynamic(Type::String, Value::string("x")),
                false,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(a == b, want, "{a:?} vs {b:?}");
            assert_eq!(b == a, want, "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn accessors() {
        let v = sample();
        assert_eq!(v.get_attr("name").and_then(Value::as_str), Some("n"));
        assert_eq!(v.get_attr("dyn").and_then(Value::as_str), Some("d"));
        assert!(v.get_attr("empty").is_some_and(Value::is_null));
        assert!(v.get_attr("missing").is_none());
        assert_eq!(v.as_map().map(BTreeMap::len), Some(4));
        assert!(Value::bool(true).as_bool().is_some_and(|b| b));
        assert_eq!(Value::number(3).as_number(), Some(&Number::from(3)));
        assert_eq!(
            Value::tuple(vec![Value::Null])
                .as_list()
                .map(<[Value]>::len),
            Some(1)
        );
        assert!(Value::Null.as_str().is_none());
        assert!(Value::Unknown.is_unknown() && !Value::Unknown.is_known());
        assert!(Value::Null.is_known() && Value::Null.is_fully_known());
        assert!(!v.is_fully_known());
        assert!(Value::dynamic(Type::String, Value::Unknown).is_known());
        assert!(!Value::dynamic(Type::String, Value::Unknown).is_fully_known());
        let ty = Type::object([("a", Type::Bool)]);
        assert_eq!(
            Value::object_of_nulls(&ty),
            Some(Value::object([("a", Value::Null)]))
        );
        assert_eq!(Value::object_of_nulls(&Type::Bool), None);
        assert!(Value::null_of(&ty).is_null());
    }

    #[test]
    fn walk_and_mutate() {
        let mut v = sample();
        let path = AttributePath::root().attr("tags").key("a").index(0);
        assert_eq!(v.walk(&path), Some(&Value::number(1)));
        assert_eq!(v.walk(&AttributePath::root()), Some(&v.clone()));
        let misses = [
            AttributePath::root().attr("tags").attr("a"),
            AttributePath::root().attr("tags").key("a").index(-1),
            AttributePath::root().attr("tags").key("a").index(9),
            AttributePath::root().key("name"),
            AttributePath::root().attr("name").attr("x"),
        ];
        for miss in misses {
            assert!(v.walk(&miss).is_none(), "{miss}");
        }
        if let Some(slot) = v.walk_mut(&path) {
            *slot = Value::string("changed");
        }
        assert_eq!(v.walk(&path).and_then(Value::as_str), Some("changed"));
        if let Some(slot) = v.get_attr_mut("dyn") {
            *slot = Value::Null;
        }
        assert!(v.get_attr("dyn").is_some_and(Value::is_null));
    }

    #[test]
    fn transform_is_post_order_with_paths() {
        let mut seen = Vec::new();
        let out = sample().transform(&mut |p: &AttributePath, v: Value| {
            seen.push(p.to_string());
            if p.to_string() == "name" {
                Value::Unknown
            } else {
                v
            }
        });
        assert_eq!(
            seen,
            vec![
                "dyn",
                "dyn",
                "empty",
                "name",
                "tags[\"a\"][0]",
                "tags[\"a\"][1]",
                "tags[\"a\"]",
                "tags",
                ""
            ]
        );
        assert!(out.get_attr("name").is_some_and(Value::is_unknown));
        let set = Value::set(vec![Value::bool(true)]);
        let mut paths = Vec::new();
        let _ = set.transform(&mut |p: &AttributePath, v| {
            paths.push(p.clone());
            v
        });
        assert_eq!(
            paths,
            vec![AttributePath::root().index(0), AttributePath::root()]
        );
    }

    #[test]
    fn try_transform_stops_on_error() {
        let r: Result<Value, String> = sample().try_transform(&mut |p: &AttributePath, v| {
            if p.to_string() == "empty" {
                Err(format!("bad at {p}"))
            } else {
                Ok(v)
            }
        });
        assert_eq!(r, Err("bad at empty".to_owned()));
    }
}
