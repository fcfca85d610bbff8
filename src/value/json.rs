//! Schema-directed JSON codec: Terraform state `attributes` JSON.
//!
//! State JSON never holds unknowns. Decoding is lenient the way cty is
//! when reading state written by older schemas: missing object attributes
//! are null, attributes no longer in the type are ignored, and primitives
//! may arrive as strings (`"12"` for a number, `"true"` for a bool) or, for
//! string slots, as numbers and bools. Dynamic values are
//! `{"value": ..., "type": <type JSON>}`. JSON nesting is limited to 128
//! levels by the JSON parser.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::error::{DecodeError, EncodeError};
use super::number::Number;
use super::path::{AttributePath, PathStack, PathStep, StepRef};
use super::types::Type;
use super::value::{Known, Value};

/// Decodes state JSON of type `ty`.
///
/// # Errors
/// If `bytes` is not JSON, or does not conform to `ty`; the error's path
/// says where.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let json: Json = serde_json::from_slice(bytes)
        .map_err(|e| DecodeError::new(AttributePath::root(), format!("invalid JSON: {e}")))?;
    decode_json_value(&json, ty)
}

/// Decodes an already-parsed state JSON value of type `ty`.
///
/// # Errors
/// If `json` does not conform to `ty`.
pub fn decode_json_value(json: &Json, ty: &Type) -> Result<Value, DecodeError> {
    decode(json, ty, &mut PathStack::default())
}

/// Encodes `value` as state JSON of type `ty` (object keys sorted, every
/// object attribute written, nulls included).
///
/// # Errors
/// If `value` holds an unknown or an infinity, or does not conform to `ty`.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let json = encode_json_value(value, ty)?;
    serde_json::to_vec(&json).map_err(|e| EncodeError::new(AttributePath::root(), e.to_string()))
}

/// Encodes `value` as a state JSON value of type `ty`.
///
/// # Errors
/// As [`encode_json`].
pub fn encode_json_value(value: &Value, ty: &Type) -> Result<Json, EncodeError> {
    encode(value, ty, &mut AttributePath::root())
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn with_step<T, E>(
    path: &mut AttributePath,
    step: PathStep,
    f: impl FnOnce(&mut AttributePath) -> Result<T, E>,
) -> Result<T, E> {
    path.push(step);
    let r = f(path);
    path.pop();
    r
}

fn index_step(i: usize) -> PathStep {
    PathStep::ElementKeyInt(i64::try_from(i).unwrap_or(i64::MAX))
}

/// Runs `f` one step further down a decode walk.
fn with_ref<'a, T>(
    path: &mut PathStack<'a>,
    step: StepRef<'a>,
    f: impl FnOnce(&mut PathStack<'a>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    path.push(step);
    let r = f(path);
    path.pop();
    r
}

fn decode<'a>(
    json: &'a Json,
    ty: &'a Type,
    path: &mut PathStack<'a>,
) -> Result<Value, DecodeError> {
    let err = |path: &PathStack<'_>, m: String| DecodeError::new(path.to_path(), m);
    let mismatch = |path: &PathStack<'_>| {
        err(
            path,
            format!("expected {}, found {}", ty.kind_name(), json_kind(json)),
        )
    };
    let known = match (ty, json) {
        (_, Json::Null) => return Ok(Value::Null),
        (Type::Bool, Json::Bool(b)) => Known::Bool(*b),
        (Type::Bool, Json::String(s)) if s == "true" || s == "false" => Known::Bool(s == "true"),
        (Type::Number, Json::Number(n)) => {
            Known::Number(Number::parse(n.as_str()).map_err(|e| err(path, e.to_string()))?)
        }
        (Type::Number, Json::String(s)) => {
            Known::Number(Number::parse(s).map_err(|e| err(path, e.to_string()))?)
        }
        (Type::String, Json::String(s)) => Known::String(s.clone()),
        (Type::String, Json::Number(n)) => Known::String(n.as_str().to_owned()),
        (Type::String, Json::Bool(b)) => Known::String(b.to_string()),
        (Type::List(el), Json::Array(items)) => Known::List(decode_items(items, |_| el, path)?),
        (Type::Set(el), Json::Array(items)) => Known::Set(decode_items(items, |_| el, path)?),
        (Type::Tuple(types), Json::Array(items)) => {
            if types.len() != items.len() {
                return Err(err(
                    path,
                    format!(
                        "expected tuple of {} elements, found {}",
                        types.len(),
                        items.len()
                    ),
                ));
            }
            Known::Tuple(decode_items(items, |i| &types[i], path)?)
        }
        (Type::Map(el), Json::Object(entries)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let v = with_ref(path, StepRef::ElementKeyString(k), |p| decode(v, el, p))?;
                out.insert(k.clone(), v);
            }
            Known::Map(out)
        }
        (Type::Object { attributes, .. }, Json::Object(entries)) => {
            let mut out = BTreeMap::new();
            for (name, attr_ty) in attributes {
                let v = match entries.get(name) {
                    None => Value::Null,
                    Some(j) => with_ref(path, StepRef::Attribute(name), |p| decode(j, attr_ty, p))?,
                };
                out.insert(name.clone(), v);
            }
            Known::Object(out)
        }
        (Type::Dynamic, Json::Object(entries)) => decode_dynamic(entries, path)?,
        _ => return Err(mismatch(path)),
    };
    Ok(Value::Known(known))
}

fn decode_items<'a>(
    items: &'a [Json],
    type_of: impl Fn(usize) -> &'a Type,
    path: &mut PathStack<'a>,
) -> Result<Vec<Value>, DecodeError> {
    items
        .iter()
        .enumerate()
        .map(|(i, j)| {
            with_ref(path, StepRef::ElementKeyInt(i), |p| {
                decode(j, type_of(i), p)
            })
        })
        .collect()
}

fn decode_dynamic(entries: &Map<String, Json>, path: &PathStack<'_>) -> Result<Known, DecodeError> {
    let err = |m: String| DecodeError::new(path.to_path(), m);
    if let Some(extra) = entries.keys().find(|k| *k != "value" && *k != "type") {
        return Err(err(format!("unexpected key {extra:?} in dynamic value")));
    }
    let (Some(ty_json), Some(value_json)) = (entries.get("type"), entries.get("value")) else {
        return Err(err(
            "dynamic value needs both \"value\" and \"type\"".to_owned()
        ));
    };
    let ty = Type::from_json_value(ty_json).map_err(|e| err(e.to_string()))?;
    let value = decode(value_json, &ty, &mut path.clone())?;
    Ok(Known::Dynamic(ty, Box::new(value)))
}

fn encode(value: &Value, ty: &Type, path: &mut AttributePath) -> Result<Json, EncodeError> {
    let err = |path: &AttributePath, m: String| EncodeError::new(path.clone(), m);
    let k = match value {
        Value::Null => return Ok(Json::Null),
        Value::Unknown => {
            return Err(err(
                path,
                "unknown values cannot be encoded as JSON".to_owned(),
            ))
        }
        Value::Known(k) => k,
    };
    Ok(match (ty, k) {
        (Type::Dynamic, Known::Dynamic(inner_ty, inner)) => dynamic_json(inner_ty, inner, path)?,
        (Type::Dynamic, Known::Bool(_)) => dynamic_json(&Type::Bool, value, path)?,
        (Type::Dynamic, Known::Number(_)) => dynamic_json(&Type::Number, value, path)?,
        (Type::Dynamic, Known::String(_)) => dynamic_json(&Type::String, value, path)?,
        (Type::Dynamic, k) => {
            return Err(err(
                path,
                format!(
                    "cannot infer the type of a {} in a dynamic slot; wrap it in Known::Dynamic",
                    k.kind_name()
                ),
            ))
        }
        (Type::Bool, Known::Bool(b)) => Json::Bool(*b),
        (Type::Number, Known::Number(n)) => number_json(n).map_err(|m| err(path, m))?,
        (Type::String, Known::String(s)) => Json::String(s.clone()),
        (Type::List(el), Known::List(items)) | (Type::Set(el), Known::Set(items)) => {
            Json::Array(encode_items(items, |_| el, path)?)
        }
        (Type::Tuple(types), Known::Tuple(items)) => {
            if types.len() != items.len() {
                return Err(err(
                    path,
                    format!(
                        "expected tuple of {} elements, found {}",
                        types.len(),
                        items.len()
                    ),
                ));
            }
            Json::Array(encode_items(items, |i| &types[i], path)?)
        }
        (Type::Map(el), Known::Map(entries)) => {
            let mut out = Map::new();
            for (key, v) in entries {
                let j = with_step(path, PathStep::ElementKeyString(key.clone()), |p| {
                    encode(v, el, p)
                })?;
                out.insert(key.clone(), j);
            }
            Json::Object(out)
        }
        (Type::Object { attributes, .. }, Known::Object(attrs)) => {
            if let Some(extra) = attrs.keys().find(|k| !attributes.contains_key(*k)) {
                let at = path.clone().attr(extra.clone());
                return Err(EncodeError::new(at, "attribute is not in the object type"));
            }
            let mut out = Map::new();
            for (name, attr_ty) in attributes {
                let v = attrs.get(name).unwrap_or(&Value::Null);
                let j = with_step(path, PathStep::Attribute(name.clone()), |p| {
                    encode(v, attr_ty, p)
                })?;
                out.insert(name.clone(), j);
            }
            Json::Object(out)
        }
        (ty, k) => {
            return Err(err(
                path,
                format!("expected {}, found {}", ty.kind_name(), k.kind_name()),
            ))
        }
    })
}

fn encode_items<'t>(
    items: &[Value],
    type_of: impl Fn(usize) -> &'t Type,
    path: &mut AttributePath,
) -> Result<Vec<Json>, EncodeError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| with_step(path, index_step(i), |p| encode(v, type_of(i), p)))
        .collect()
}

fn dynamic_json(ty: &Type, value: &Value, path: &mut AttributePath) -> Result<Json, EncodeError> {
    let mut out = Map::new();
    out.insert("value".to_owned(), encode(value, ty, path)?);
    out.insert("type".to_owned(), ty.to_json());
    Ok(Json::Object(out))
}

fn number_json(n: &Number) -> Result<Json, String> {
    if !n.is_finite() {
        return Err("infinity cannot be represented in JSON".to_owned());
    }
    n.to_string()
        .parse::<serde_json::Number>()
        .map(Json::Number)
        .map_err(|e| format!("number {n} is not valid JSON: {e}"))
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
