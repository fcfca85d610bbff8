//! Typed models to and from [`Value`]: resources read their configuration with
//! [`Obj::get`] (errors carry the attribute path) and build state with [`ObjectBuilder`]
//! (every attribute of the schema written, nulls included, as core requires).

use std::collections::BTreeMap;

use crate::value::{AttributePath, Known, Number, Value};

use super::diagnostics::Diagnostic;
use super::schema::Block;

/// A Rust type readable from a [`Value`].
pub trait FromValue: Sized {
    /// # Errors
    /// A diagnostic at `path` when the value is null, unknown or of another shape.
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic>;

    /// Reads a whole configuration, plan or state (paths start at its root).
    ///
    /// # Errors
    /// As [`FromValue::from_value`].
    fn read(v: &Value) -> Result<Self, Diagnostic> {
        Self::from_value(v, &AttributePath::root())
    }
}

/// A Rust type writable as a [`Value`].
pub trait ToValue {
    fn to_value(&self) -> Value;
}

fn shape_error(path: &AttributePath, v: &Value, want: &str) -> Diagnostic {
    let (summary, what) = match v {
        Value::Null => ("Missing value", "null".to_string()),
        Value::Unknown => ("Value not yet known", "not known until apply".to_string()),
        Value::Known(_) => ("Unexpected value type", "of another type".to_string()),
    };
    Diagnostic::error(
        summary,
        format!("{path} must be {want}, but the value is {what}."),
    )
    .at(path.clone())
}

impl FromValue for Value {
    fn from_value(v: &Value, _: &AttributePath) -> Result<Self, Diagnostic> {
        Ok(v.clone())
    }
}

impl FromValue for String {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| shape_error(path, v, "a string"))
    }
}

impl FromValue for bool {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_bool().ok_or_else(|| shape_error(path, v, "a bool"))
    }
}

impl FromValue for Number {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_number()
            .cloned()
            .ok_or_else(|| shape_error(path, v, "a number"))
    }
}

impl FromValue for i64 {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        let n = v
            .as_number()
            .ok_or_else(|| shape_error(path, v, "a whole number"))?;
        n.to_i64().filter(|_| n.is_integer()).ok_or_else(|| {
            Diagnostic::error(
                "Invalid number",
                format!(
                    "{path} must be a whole number between {} and {}, got {n}.",
                    i64::MIN,
                    i64::MAX
                ),
            )
            .at(path.clone())
        })
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        v.as_number()
            .map(|n| n.to_f64())
            .ok_or_else(|| shape_error(path, v, "a number"))
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_value(v, path).map(Some)
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        let items = v.as_list().ok_or_else(|| shape_error(path, v, "a list"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, e)| T::from_value(e, &path.clone().index(i as i64)))
            .collect()
    }
}

impl<T: FromValue> FromValue for BTreeMap<String, T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        let items = v.as_map().ok_or_else(|| shape_error(path, v, "a map"))?;
        items
            .iter()
            .map(|(k, e)| Ok((k.clone(), T::from_value(e, &path.clone().key(k))?)))
            .collect()
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::string(self.clone())
    }
}
impl ToValue for &str {
    fn to_value(&self) -> Value {
        Value::string(self.to_string())
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::bool(*self)
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::number(Number::from(*self))
    }
}
impl ToValue for Number {
    fn to_value(&self) -> Value {
        Value::number(self.clone())
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}
impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::list(self.iter().map(ToValue::to_value).collect())
    }
}
impl<T: ToValue> ToValue for BTreeMap<String, T> {
    fn to_value(&self) -> Value {
        Value::map(self.iter().map(|(k, v)| (k.clone(), v.to_value())))
    }
}

/// A value that may not be known yet, such as a computed attribute in a plan: `None` when
/// null or not known. Written back as null.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfKnown<T>(pub Option<T>);

impl<T: FromValue> FromValue for IfKnown<T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        if v.is_null() || v.is_unknown() {
            Ok(IfKnown(None))
        } else {
            T::from_value(v, path).map(|t| IfKnown(Some(t)))
        }
    }
}

impl<T: ToValue> ToValue for IfKnown<T> {
    fn to_value(&self) -> Value {
        self.0.to_value()
    }
}

/// An attribute as a plan sees it: null, not known until apply, or known. Plan passes and
/// validation read configurations and plans into models of `Field`s, which never fail on a
/// value that is not known yet (a known value of another shape is still an error), and write
/// what they decide back with the model's `merge_into`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Field<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(t) => Some(t),
            _ => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Field::Known(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }

    /// Not null: a value not known yet counts as set (it will be known at apply).
    pub fn is_set(&self) -> bool {
        !self.is_null()
    }

    /// The value, with null read as `T::default()` (an empty map or list); `None` while not
    /// known.
    pub fn known_or_default(&self) -> Option<T>
    where
        T: Default + Clone,
    {
        match self {
            Field::Null => Some(T::default()),
            Field::Unknown => None,
            Field::Known(t) => Some(t.clone()),
        }
    }

    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(t) => Field::Known(t),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Null => Field::Null,
            Field::Unknown => Field::Unknown,
            Field::Known(t) => Field::Known(f(t)),
        }
    }
}

impl<T> From<Option<T>> for Field<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Field::Null, Field::Known)
    }
}

impl<T: FromValue> FromValue for Field<T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        if v.is_null() {
            return Ok(Field::Null);
        }
        if v.is_unknown() {
            return Ok(Field::Unknown);
        }
        match T::from_value(v, path) {
            Ok(t) => Ok(Field::Known(t)),
            // Something inside is not known yet (a map element, a list element's attribute).
            Err(_) if !v.is_fully_known() => Ok(Field::Unknown),
            Err(e) => Err(e),
        }
    }
}

impl<T: ToValue> ToValue for Field<T> {
    fn to_value(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Unknown => Value::Unknown,
            Field::Known(t) => t.to_value(),
        }
    }
}

/// A model of some of an object's attributes, written back into the object it was read from.
/// Implemented by [`model!`](crate::model).
pub trait Merge {
    /// Writes the model's attributes into an object value, leaving the others as they are.
    fn merge_into(&self, v: &mut Value);

    /// Writes into `v` only the attributes whose value differs from `before` (the model as
    /// read from `v`): what a plan pass left alone keeps its exact value, partly unknown
    /// collections included.
    fn merge_changes(&self, before: &Self, v: &mut Value);
}

/// A nested block or object read into a model of some of its attributes: written back, the
/// attributes the model leaves out keep their values. Dereferences to the model.
#[derive(Clone, Debug)]
pub struct Partial<T> {
    model: T,
    whole: Value,
}

impl<T> std::ops::Deref for Partial<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.model
    }
}

impl<T> std::ops::DerefMut for Partial<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.model
    }
}

impl<T: FromValue> FromValue for Partial<T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        Ok(Partial {
            model: T::from_value(v, path)?,
            whole: v.clone(),
        })
    }
}

impl<T: Merge> ToValue for Partial<T> {
    fn to_value(&self) -> Value {
        let mut v = self.whole.clone();
        self.model.merge_into(&mut v);
        v
    }
}

/// The elements of a `set(T)` attribute (a [`Vec`] is written as a list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetOf<T>(pub Vec<T>);

impl<T: FromValue> FromValue for SetOf<T> {
    fn from_value(v: &Value, path: &AttributePath) -> Result<Self, Diagnostic> {
        Vec::<T>::from_value(v, path).map(SetOf)
    }
}

impl<T: ToValue> ToValue for SetOf<T> {
    fn to_value(&self) -> Value {
        Value::set(self.0.iter().map(ToValue::to_value).collect())
    }
}

/// The object a model is read from.
///
/// # Errors
/// A diagnostic at `path` when `v` is not a known object.
pub fn object_at<'a>(v: &'a Value, path: &AttributePath) -> Result<Obj<'a>, Diagnostic> {
    if v.as_map().is_none() {
        return Err(shape_error(path, v, "an object"));
    }
    Ok(Obj::at(v, path.clone()))
}

/// Declares a struct whose fields are the attributes of a block, with [`FromValue`] and
/// [`ToValue`]: each field is read from and written to the attribute of its own name, so
/// resource code reads a configuration, plan or state into plain Rust values with
/// `T::from_value` and writes state with `to_value()`, without naming attributes as strings.
/// A field named like a Rust keyword is written raw (`r#type` for `type`). Fields the
/// struct leaves out are ignored when reading; when writing, the struct must
/// cover every attribute of its block (core rejects an object with attributes missing).
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty ),*
        }

        impl $crate::framework::FromValue for $name {
            fn from_value(
                v: &$crate::value::Value,
                path: &$crate::value::AttributePath,
            ) -> Result<Self, $crate::framework::Diagnostic> {
                let _o = $crate::framework::model::object_at(v, path)?;
                Ok($name { $( $field: _o.get(stringify!($field).trim_start_matches("r#"))? ),* })
            }
        }

        impl $crate::framework::ToValue for $name {
            fn to_value(&self) -> $crate::value::Value {
                $crate::value::Value::object(vec![
                    $( (
                        stringify!($field).trim_start_matches("r#"),
                        $crate::framework::ToValue::to_value(&self.$field),
                    ) ),*
                ])
            }
        }

        impl $crate::framework::Merge for $name {
            fn merge_into(&self, v: &mut $crate::value::Value) {
                $( $crate::framework::attr::set(
                    v,
                    stringify!($field).trim_start_matches("r#"),
                    $crate::framework::ToValue::to_value(&self.$field),
                ); )*
            }

            fn merge_changes(&self, before: &Self, v: &mut $crate::value::Value) {
                $( {
                    let now = $crate::framework::ToValue::to_value(&self.$field);
                    if now != $crate::framework::ToValue::to_value(&before.$field) {
                        $crate::framework::attr::set(
                            v,
                            stringify!($field).trim_start_matches("r#"),
                            now,
                        );
                    }
                } )*
            }
        }
    };
}

/// A path-aware view of an object value.
#[derive(Clone)]
pub struct Obj<'a> {
    value: &'a Value,
    path: AttributePath,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value) -> Self {
        Obj {
            value,
            path: AttributePath::root(),
        }
    }

    pub fn at(value: &'a Value, path: AttributePath) -> Self {
        Obj { value, path }
    }

    /// The raw value of an attribute (null when absent).
    pub fn value(&self, name: &str) -> &'a Value {
        self.value.get_attr(name).unwrap_or(&Value::Null)
    }

    pub fn path_of(&self, name: &str) -> AttributePath {
        self.path.clone().attr(name)
    }

    /// Reads an attribute as `T`.
    ///
    /// # Errors
    /// A diagnostic naming the attribute when it cannot be read as `T`.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T, Diagnostic> {
        T::from_value(self.value(name), &self.path_of(name))
    }

    /// A nested object (single block or object attribute).
    pub fn obj(&self, name: &str) -> Obj<'a> {
        Obj {
            value: self.value(name),
            path: self.path_of(name),
        }
    }

    pub fn is_null(&self) -> bool {
        self.value.is_null()
    }
}

/// Builds an object value of a block: every attribute not set is written as null and every
/// nested block not set as absent.
pub struct ObjectBuilder {
    fields: BTreeMap<String, Value>,
}

impl ObjectBuilder {
    pub fn new(block: &Block) -> Self {
        let fields = match block.null_object() {
            Value::Known(Known::Object(f)) => f,
            _ => BTreeMap::new(),
        };
        ObjectBuilder { fields }
    }

    /// Starts from an existing object (e.g. the planned state) and overrides some fields.
    pub fn from_value(block: &Block, v: &Value) -> Self {
        let mut b = Self::new(block);
        if let Some(m) = v.as_map() {
            for (k, val) in m {
                if b.fields.contains_key(k) {
                    b.fields.insert(k.clone(), val.clone());
                }
            }
        }
        b
    }

    pub fn set(mut self, name: &str, value: impl ToValue) -> Self {
        self.fields.insert(name.to_string(), value.to_value());
        self
    }

    pub fn build(self) -> Value {
        Value::object(self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::model! {
        #[derive(Debug, PartialEq)]
        struct Example {
            name: String,
            size: Option<i64>,
            zones: SetOf<String>,
            arn: IfKnown<String>,
        }
    }

    #[test]
    fn a_model_reads_and_writes_its_attributes_by_field_name() {
        let v = Value::object(vec![
            ("name", Value::string("a")),
            ("size", Value::Null),
            ("zones", Value::set(vec![Value::string("z")])),
            ("arn", Value::Unknown),
            ("ignored", Value::bool(true)),
        ]);
        let m = Example::from_value(&v, &AttributePath::root()).expect("readable");
        assert_eq!(m.name, "a");
        assert_eq!(m.size, None);
        assert_eq!(m.zones, SetOf(vec!["z".to_string()]));
        assert_eq!(m.arn, IfKnown(None));
        let back = m.to_value();
        assert_eq!(back.get_attr("zones"), v.get_attr("zones"));
        assert_eq!(back.get_attr("arn"), Some(&Value::Null));
    }

    crate::model! {
        #[derive(Clone)]
        struct Pass {
            size: Field<i64>,
            labels: Field<BTreeMap<String, String>>,
            inner: Field<Partial<Inner>>,
        }
    }

    crate::model! {
        #[derive(Clone)]
        struct Inner {
            port: Field<i64>,
        }
    }

    #[test]
    fn a_pass_writes_back_only_what_it_changed() {
        let partly_unknown = Value::map(vec![("a", Value::string("x")), ("b", Value::Unknown)]);
        let mut plan = Value::object(vec![
            ("size", Value::Unknown),
            ("labels", partly_unknown.clone()),
            (
                "inner",
                Value::object(vec![("port", Value::Null), ("host", Value::string("db"))]),
            ),
            ("other", Value::bool(true)),
        ]);
        let before = Pass::read(&plan).expect("readable");
        assert_eq!(
            before.labels,
            Field::Unknown,
            "partly unknown reads as unknown"
        );
        let mut pass = before.clone();
        pass.size = Field::Known(3);
        if let Field::Known(inner) = &mut pass.inner {
            inner.port = Field::Known(5432);
        }
        pass.merge_changes(&before, &mut plan);
        assert_eq!(plan.get_attr("size"), Some(&Value::number(3i64)));
        assert_eq!(
            plan.get_attr("labels"),
            Some(&partly_unknown),
            "left as it was"
        );
        let inner = plan.get_attr("inner").expect("inner");
        assert_eq!(inner.get_attr("port"), Some(&Value::number(5432i64)));
        assert_eq!(inner.get_attr("host"), Some(&Value::string("db")), "kept");
        assert_eq!(plan.get_attr("other"), Some(&Value::bool(true)));
    }

    #[test]
    fn a_field_of_another_shape_is_still_an_error() {
        let v = Value::object(vec![("size", Value::string("big"))]);
        assert!(Pass::read(&v).is_err());
    }

    #[test]
    fn a_missing_required_field_names_its_attribute() {
        let v = Value::object(vec![("size", Value::number(1i64))]);
        let e = Example::from_value(&v, &AttributePath::root()).expect_err("name is missing");
        assert!(format!("{e:?}").contains("name"), "{e:?}");
        assert!(Example::from_value(&Value::Null, &AttributePath::root()).is_err());
    }
}
