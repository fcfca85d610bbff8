//! The cty type system as Terraform describes schemas, and its JSON form.
//!
//! Type JSON is what Terraform puts in schemas and inside dynamic values:
//! `"string"`, `["list","number"]`, `["object",{"a":"bool"},["a"]]`, ...

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::error::TypeParseError;

/// Deepest type nesting accepted when parsing type JSON.
const MAX_TYPE_DEPTH: usize = 256;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number` (arbitrary precision)
    Number,
    /// `string`
    String,
    /// `dynamic`: the concrete type travels with the value.
    Dynamic,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `object({...})`; attributes in `optional` may be absent on the wire.
    Object {
        /// Attribute names and their types.
        attributes: BTreeMap<String, Type>,
        /// Names of optional attributes (a subset of `attributes`).
        optional: BTreeSet<String>,
    },
    /// `tuple([...])`
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(element)`.
    #[must_use]
    pub fn list(element: Type) -> Self {
        Self::List(Box::new(element))
    }

    /// `set(element)`.
    #[must_use]
    pub fn set(element: Type) -> Self {
        Self::Set(Box::new(element))
    }

    /// `map(element)`.
    #[must_use]
    pub fn map(element: Type) -> Self {
        Self::Map(Box::new(element))
    }

    /// `tuple([elements...])`.
    #[must_use]
    pub fn tuple(elements: impl IntoIterator<Item = Type>) -> Self {
        Self::Tuple(elements.into_iter().collect())
    }

    /// An object type with no optional attributes.
    #[must_use]
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Type)>) -> Self {
        Self::Object {
            attributes: attributes.into_iter().map(|(k, t)| (k.into(), t)).collect(),
            optional: BTreeSet::new(),
        }
    }

    /// An object type whose attributes named in `optional` may be absent.
    /// Names in `optional` that are not attributes are dropped.
    #[must_use]
    pub fn object_with_optional<K: Into<String>, O: Into<String>>(
        attributes: impl IntoIterator<Item = (K, Type)>,
        optional: impl IntoIterator<Item = O>,
    ) -> Self {
        let attributes: BTreeMap<String, Type> =
            attributes.into_iter().map(|(k, t)| (k.into(), t)).collect();
        let optional = optional
            .into_iter()
            .map(Into::into)
            .filter(|name| attributes.contains_key(name))
            .collect();
        Self::Object {
            attributes,
            optional,
        }
    }

    /// Whether this is `bool`, `number` or `string`.
    #[must_use]
    pub fn is_primitive(&self) -> bool {
        matches!(self, Self::Bool | Self::Number | Self::String)
    }

    /// A short name for messages: "string", "list", "object", ...
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Number => "number",
            Self::String => "string",
            Self::Dynamic => "dynamic",
            Self::List(_) => "list",
            Self::Set(_) => "set",
            Self::Map(_) => "map",
            Self::Object { .. } => "object",
            Self::Tuple(_) => "tuple",
        }
    }

    /// The cty type JSON of this type.
    #[must_use]
    pub fn to_json(&self) -> Json {
        match self {
            Self::Bool => Json::from("bool"),
            Self::Number => Json::from("number"),
            Self::String => Json::from("string"),
            Self::Dynamic => Json::from("dynamic"),
            Self::List(t) => Json::Array(vec!["list".into(), t.to_json()]),
            Self::Set(t) => Json::Array(vec!["set".into(), t.to_json()]),
            Self::Map(t) => Json::Array(vec!["map".into(), t.to_json()]),
            Self::Object {
                attributes,
                optional,
            } => {
                let attrs: serde_json::Map<String, Json> = attributes
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                let mut parts = vec!["object".into(), Json::Object(attrs)];
                if !optional.is_empty() {
                    parts.push(Json::Array(
                        optional.iter().map(|n| Json::from(n.as_str())).collect(),
                    ));
                }
                Json::Array(parts)
            }
            Self::Tuple(ts) => Json::Array(vec![
                "tuple".into(),
                Json::Array(ts.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// The compact cty type JSON of this type, as bytes.
    #[must_use]
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses cty type JSON.
    ///
    /// # Errors
    /// If `bytes` is not JSON or not a valid type description.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TypeParseError> {
        let json: Json =
            serde_json::from_slice(bytes).map_err(|e| TypeParseError::new(e.to_string()))?;
        Self::from_json_value(&json)
    }

    /// Parses an already-parsed cty type JSON value.
    ///
    /// # Errors
    /// If `json` is not a valid type description.
    pub fn from_json_value(json: &Json) -> Result<Self, TypeParseError> {
        parse(json, 0)
    }
}

fn parse(json: &Json, depth: usize) -> Result<Type, TypeParseError> {
    if depth > MAX_TYPE_DEPTH {
        return Err(TypeParseError::new("type nested too deeply"));
    }
    match json {
        Json::String(s) => match s.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(TypeParseError::new(format!(
                "unknown primitive type {other:?}"
            ))),
        },
        Json::Array(parts) => parse_compound(parts, depth),
        _ => Err(TypeParseError::new("expected string or array")),
    }
}

fn parse_compound(parts: &[Json], depth: usize) -> Result<Type, TypeParseError> {
    let Some(Json::String(kind)) = parts.first() else {
        return Err(TypeParseError::new("array type must start with a kind"));
    };
    let kind = kind.as_str();
    match (kind, parts.len()) {
        ("list" | "set" | "map", 2) => {
            let element = Box::new(parse(&parts[1], depth + 1)?);
            Ok(match kind {
                "list" => Type::List(element),
                "set" => Type::Set(element),
                _ => Type::Map(element),
            })
        }
        ("object", 2 | 3) => parse_object(&parts[1], parts.get(2), depth),
        ("tuple", 2) => {
            let Json::Array(elements) = &parts[1] else {
                return Err(TypeParseError::new("tuple elements must be an array"));
            };
            elements
                .iter()
                .map(|e| parse(e, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Type::Tuple)
        }
        ("list" | "set" | "map" | "object" | "tuple", n) => {
            Err(TypeParseError::new(format!("{kind} type has {n} elements")))
        }
        _ => Err(TypeParseError::new(format!("unknown type kind {kind:?}"))),
    }
}

fn parse_object(
    attrs: &Json,
    optional: Option<&Json>,
    depth: usize,
) -> Result<Type, TypeParseError> {
    let Json::Object(attrs) = attrs else {
        return Err(TypeParseError::new("object attributes must be an object"));
    };
    let attributes = attrs
        .iter()
        .map(|(k, t)| Ok((k.clone(), parse(t, depth + 1)?)))
        .collect::<Result<BTreeMap<_, _>, TypeParseError>>()?;
    let mut names = BTreeSet::new();
    if let Some(optional) = optional {
        let Json::Array(list) = optional else {
            return Err(TypeParseError::new("optional attributes must be an array"));
        };
        for name in list {
            let Json::String(name) = name else {
                return Err(TypeParseError::new("optional attribute must be a string"));
            };
            if !attributes.contains_key(name) {
                return Err(TypeParseError::new(format!(
                    "optional attribute {name:?} is not an attribute"
                )));
            }
            names.insert(name.clone());
        }
    }
    Ok(Type::Object {
        attributes,
        optional: names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_object() -> Type {
        Type::object_with_optional(
            [("b", Type::list(Type::String)), ("a", Type::Number)],
            ["b"],
        )
    }

    #[test]
    fn to_json_table() {
        let cases = [
            (Type::Bool, r#""bool""#),
            (Type::Number, r#""number""#),
            (Type::String, r#""string""#),
            (Type::Dynamic, r#""dynamic""#),
            (Type::list(Type::String), r#"["list","string"]"#),
            (Type::set(Type::Bool), r#"["set","bool"]"#),
            (Type::map(Type::Number), r#"["map","number"]"#),
            (
                Type::object([("z", Type::Bool), ("a", Type::String)]),
                r#"["object",{"a":"string","z":"bool"}]"#,
            ),
            (
                sample_object(),
                r#"["object",{"a":"number","b":["list","string"]},["b"]]"#,
            ),
            (
                Type::tuple([Type::String, Type::Dynamic]),
                r#"["tuple",["string","dynamic"]]"#,
            ),
            (Type::tuple([]), r#"["tuple",[]]"#),
        ];
        for (ty, want) in cases {
            assert_eq!(String::from_utf8_lossy(&ty.to_json_bytes()), want);
            assert_eq!(Type::from_json(want.as_bytes()), Ok(ty));
        }
    }

    #[test]
    fn from_json_errors() {
        let bad = [
            "",
            "1",
            r#""float""#,
            "[]",
            r#"["list"]"#,
            r#"["list","string","x"]"#,
            r#"["object",[]]"#,
            r#"["object",{"a":"bool"},["b"]]"#,
            r#"["object",{"a":"bool"},"a"]"#,
            r#"["object",{"a":"bool"},[1]]"#,
            r#"["tuple",{}]"#,
            r#"["tuple"]"#,
            r#"["frob","string"]"#,
            r#"[1,"string"]"#,
            "null",
        ];
        for input in bad {
            assert!(Type::from_json(input.as_bytes()).is_err(), "{input}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut json = Json::from("string");
        for _ in 0..300 {
            json = Json::Array(vec!["list".into(), json]);
        }
        assert!(Type::from_json_value(&json).is_err());
        let text = "[\"list\",".repeat(5000) + "\"string\"" + &"]".repeat(5000);
        assert!(Type::from_json(text.as_bytes()).is_err());
    }

    #[test]
    fn optional_names_not_attributes_are_dropped() {
        let ty = Type::object_with_optional([("a", Type::Bool)], ["a", "nope"]);
        let Type::Object { optional, .. } = ty else {
            panic!("not an object")
        };
        assert_eq!(optional.into_iter().collect::<Vec<_>>(), vec!["a"]);
    }

    #[test]
    fn kind_names() {
        assert_eq!(sample_object().kind_name(), "object");
        assert!(Type::Number.is_primitive());
        assert!(!Type::Dynamic.is_primitive());
    }
}
