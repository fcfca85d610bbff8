//! Schema-directed msgpack codec: the cty wire format Terraform uses for
//! `DynamicValue.msgpack`.
//!
//! - nil is null in any slot; any ext is unknown (ext 12, a refined
//!   unknown, must carry a well-formed refinement map, which is ignored).
//! - Numbers arrive as any int width, float32/64, or a decimal string.
//! - Dynamic slots hold `[type JSON (bin or str), value]`.
//! - Objects must carry every non-optional attribute and nothing else.

use std::collections::BTreeMap;

use super::error::{DecodeError, EncodeError};
use super::number::Number;
use super::path::{AttributePath, PathStack, StepRef};
use super::types::Type;
use super::value::{Known, Value};
use super::wire::{self, Reader, Token, MAX_DEPTH, REFINED_UNKNOWN_EXT};

/// Decodes a cty msgpack value of type `ty`.
///
/// # Errors
/// If the bytes are not valid msgpack, do not conform to `ty`, have
/// trailing bytes, or nest deeper than 256 levels. The error's path says
/// where.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let mut d = Decoder {
        reader: Reader::new(bytes),
        path: PathStack::default(),
        depth: 0,
    };
    let value = d.value(ty)?;
    match d.reader.remaining() {
        0 => Ok(value),
        n => Err(DecodeError::new(
            AttributePath::root(),
            format!("{n} trailing bytes after the value"),
        )),
    }
}

/// Encodes `value` as cty msgpack of type `ty`.
///
/// # Errors
/// If `value` does not conform to `ty` (wrong kind, tuple length, an
/// attribute not in the object type), a non-primitive in a dynamic slot
/// without [`Known::Dynamic`], or nesting deeper than 256 levels.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, EncodeError> {
    let mut e = Encoder {
        out: Vec::new(),
        path: PathStack::default(),
        depth: 0,
    };
    e.value(value, ty)?;
    Ok(e.out)
}

struct Decoder<'a> {
    reader: Reader<'a>,
    /// Where the decoder is; keys are borrowed from the input.
    path: PathStack<'a>,
    depth: usize,
}

fn expected(what: &str, found: &Token<'_>) -> String {
    format!("expected {what}, found {}", found.kind_name())
}

impl<'a> Decoder<'a> {
    fn err(&self, message: impl Into<String>) -> DecodeError {
        DecodeError::new(self.path.to_path(), message)
    }

    fn next(&mut self) -> Result<Token<'a>, DecodeError> {
        self.reader.next().map_err(|m| self.err(m))
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        let result = self.value_at_depth(ty);
        self.depth -= 1;
        result
    }

    fn value_at_depth(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let token = self.next()?;
        match token {
            Token::Nil => return Ok(Value::Null),
            Token::Ext(code, payload) => {
                if code == REFINED_UNKNOWN_EXT {
                    wire::validate_refinements(payload).map_err(|m| self.err(m))?;
                }
                return Ok(Value::Unknown);
            }
            _ => {}
        }
        let known = match (ty, token) {
            (Type::Bool, Token::Bool(b)) => Known::Bool(b),
            (Type::Number, t) => Known::Number(self.number(t)?),
            (Type::String, Token::Str(bytes)) => Known::String(self.utf8(bytes)?),
            (Type::List(el), Token::Array(n)) => Known::List(self.elements(n, |_| el)?),
            (Type::Set(el), Token::Array(n)) => Known::Set(self.elements(n, |_| el)?),
            (Type::Tuple(types), Token::Array(n)) => {
                if n != types.len() {
                    return Err(self.err(format!(
                        "expected tuple of {} elements, found {n}",
                        types.len()
                    )));
                }
                Known::Tuple(self.elements(n, |i| &types[i])?)
            }
            (Type::Map(el), Token::Map(n)) => Known::Map(self.map(n, el)?),
            (
                Type::Object {
                    attributes,
                    optional,
                },
                Token::Map(n),
            ) => Known::Object(self.object(n, attributes, |name| optional.contains(name))?),
            (Type::Dynamic, Token::Array(2)) => self.dynamic()?,
            (Type::Dynamic, t) => {
                return Err(self.err(expected("[type, value] array for a dynamic value", &t)))
            }
            (ty, t) => return Err(self.err(expected(ty.kind_name(), &t))),
        };
        Ok(Value::Known(known))
    }

    fn utf8(&self, bytes: &[u8]) -> Result<String, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| self.err("invalid UTF-8 in string"))
    }

    fn number(&self, token: Token<'_>) -> Result<Number, DecodeError> {
        let nan = || self.err("NaN is not a valid number");
        match token {
            Token::UInt(u) => Ok(Number::from(u)),
            Token::Int(i) => Ok(Number::from(i)),
            Token::F32(f) => Number::from_f32(f).ok_or_else(nan),
            Token::F64(f) => Number::from_f64(f).ok_or_else(nan),
            Token::Str(bytes) => {
                Number::parse(&self.utf8(bytes)?).map_err(|e| self.err(e.to_string()))
            }
            t => Err(self.err(expected("number", &t))),
        }
    }

    fn elements<'t>(
        &mut self,
        n: usize,
        type_of: impl Fn(usize) -> &'t Type,
    ) -> Result<Vec<Value>, DecodeError> {
        let mut items = Vec::with_capacity(n.min(1024));
        for i in 0..n {
            self.path.push(StepRef::ElementKeyInt(i));
            let item = self.value(type_of(i))?;
            self.path.pop();
            items.push(item);
        }
        Ok(items)
    }

    /// A string key, borrowed from the input.
    fn key(&mut self) -> Result<&'a str, DecodeError> {
        match self.next()? {
            Token::Str(bytes) => {
                std::str::from_utf8(bytes).map_err(|_| self.err("invalid UTF-8 in string"))
            }
            t => Err(self.err(expected("string key", &t))),
        }
    }

    fn map(&mut self, n: usize, el: &Type) -> Result<BTreeMap<String, Value>, DecodeError> {
        let mut entries = BTreeMap::new();
        for _ in 0..n {
            let key = self.key()?;
            self.path.push(StepRef::ElementKeyString(key));
            if entries.contains_key(key) {
                return Err(self.err("duplicate map key"));
            }
            let v = self.value(el)?;
            self.path.pop();
            entries.insert(key.to_owned(), v);
        }
        Ok(entries)
    }

    fn object(
        &mut self,
        n: usize,
        attributes: &BTreeMap<String, Type>,
        is_optional: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, Value>, DecodeError> {
        // cty writes attributes in sorted order: while they come sorted, a name greater than
        // the last one cannot repeat an earlier one; only out-of-order input needs a scan.
        // The map is built at once from the (usually sorted) pairs.
        let mut pairs: Vec<(String, Value)> = Vec::with_capacity(n.min(attributes.len()));
        let mut sorted = true;
        for _ in 0..n {
            let name = self.key()?;
            self.path.push(StepRef::Attribute(name));
            let Some((key, ty)) = attributes.get_key_value(name) else {
                return Err(self.err("unsupported attribute"));
            };
            if let Some((last, _)) = pairs.last() {
                sorted = sorted && last.as_str() < name;
                if !sorted && pairs.iter().any(|(k, _)| k == name) {
                    return Err(self.err("duplicate attribute"));
                }
            }
            let v = self.value(ty)?;
            self.path.pop();
            pairs.push((key.clone(), v));
        }
        let complete = pairs.len() == attributes.len();
        let mut attrs: BTreeMap<String, Value> = pairs.into_iter().collect();
        if !complete {
            for name in attributes.keys() {
                if !attrs.contains_key(name) {
                    if !is_optional(name) {
                        let path = self.path.to_path().attr(name.clone());
                        return Err(DecodeError::new(path, "missing required attribute"));
                    }
                    attrs.insert(name.clone(), Value::Null);
                }
            }
        }
        Ok(attrs)
    }

    fn dynamic(&mut self) -> Result<Known, DecodeError> {
        let ty = match self.next()? {
            Token::Bin(json) | Token::Str(json) => {
                Type::from_json(json).map_err(|e| self.err(e.to_string()))?
            }
            t => return Err(self.err(expected("type JSON", &t))),
        };
        let value = self.value(&ty)?;
        Ok(Known::Dynamic(ty, Box::new(value)))
    }
}

struct Encoder<'x> {
    out: Vec<u8>,
    /// Where the encoder is; names are borrowed from the type and the value.
    path: PathStack<'x>,
    depth: usize,
}

impl<'x> Encoder<'x> {
    fn err(&self, message: impl Into<String>) -> EncodeError {
        EncodeError::new(self.path.to_path(), message)
    }

    fn value(&mut self, value: &'x Value, ty: &'x Type) -> Result<(), EncodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        let result = match value {
            Value::Null => {
                wire::write_nil(&mut self.out);
                Ok(())
            }
            Value::Unknown => {
                wire::write_unknown(&mut self.out);
                Ok(())
            }
            Value::Known(k) => self.known(k, ty),
        };
        self.depth -= 1;
        result
    }

    fn wire(&self, r: Result<(), String>) -> Result<(), EncodeError> {
        r.map_err(|m| self.err(m))
    }

    fn known(&mut self, k: &'x Known, ty: &'x Type) -> Result<(), EncodeError> {
        match (ty, k) {
            (Type::Dynamic, Known::Dynamic(inner_ty, inner)) => {
                self.dynamic_header(inner_ty)?;
                self.value(inner, inner_ty)
            }
            (Type::Dynamic, Known::Bool(_)) => self.inferred(k, &Type::Bool),
            (Type::Dynamic, Known::Number(_)) => self.inferred(k, &Type::Number),
            (Type::Dynamic, Known::String(_)) => self.inferred(k, &Type::String),
            (Type::Dynamic, k) => Err(self.err(format!(
                "cannot infer the type of a {} in a dynamic slot; wrap it in Known::Dynamic",
                k.kind_name()
            ))),
            (Type::Bool, Known::Bool(b)) => {
                wire::write_bool(&mut self.out, *b);
                Ok(())
            }
            (Type::Number, Known::Number(n)) => {
                self.number(n);
                Ok(())
            }
            (Type::String, Known::String(s)) => {
                let r = wire::write_str(&mut self.out, s);
                self.wire(r)
            }
            (Type::List(el), Known::List(items)) | (Type::Set(el), Known::Set(items)) => {
                self.elements(items, |_| el)
            }
            (Type::Tuple(types), Known::Tuple(items)) => {
                if types.len() != items.len() {
                    return Err(self.err(format!(
                        "expected tuple of {} elements, found {}",
                        types.len(),
                        items.len()
                    )));
                }
                self.elements(items, |i| &types[i])
            }
            (Type::Map(el), Known::Map(entries)) => self.map(entries, el),
            (Type::Object { attributes, .. }, Known::Object(attrs)) => {
                self.object(attrs, attributes)
            }
            (ty, k) => Err(self.err(format!(
                "expected {}, found {}",
                ty.kind_name(),
                k.kind_name()
            ))),
        }
    }

    fn dynamic_header(&mut self, ty: &Type) -> Result<(), EncodeError> {
        let r = wire::write_array_len(&mut self.out, 2)
            .and_then(|()| wire::write_bin(&mut self.out, &ty.to_json_bytes()));
        self.wire(r)
    }

    fn inferred(&mut self, k: &'x Known, ty: &'x Type) -> Result<(), EncodeError> {
        self.dynamic_header(ty)?;
        self.known(k, ty)
    }

    /// Smallest int if integral and in i64/u64 range; float64 if exactly
    /// representable (and that float decodes back to the same decimal);
    /// otherwise a decimal string. Infinities are float64 infinities.
    fn number(&mut self, n: &Number) {
        if let Some(i) = n.to_i64() {
            wire::write_int(&mut self.out, i);
        } else if let Some(u) = n.to_u64() {
            wire::write_uint(&mut self.out, u);
        } else {
            match n {
                Number::PosInf => wire::write_f64(&mut self.out, f64::INFINITY),
                Number::NegInf => wire::write_f64(&mut self.out, f64::NEG_INFINITY),
                Number::Finite(_) => match n.to_f64_exact() {
                    Some(f) if Number::from_f64(f).as_ref() == Some(n) => {
                        wire::write_f64(&mut self.out, f);
                    }
                    _ => {
                        let text = n.to_string();
                        // A decimal string is far below msgpack's 4 GiB limit.
                        let _ = wire::write_str(&mut self.out, &text);
                    }
                },
            }
        }
    }

    fn elements(
        &mut self,
        items: &'x [Value],
        type_of: impl Fn(usize) -> &'x Type,
    ) -> Result<(), EncodeError> {
        let r = wire::write_array_len(&mut self.out, items.len());
        self.wire(r)?;
        for (i, item) in items.iter().enumerate() {
            self.path.push(StepRef::ElementKeyInt(i));
            self.value(item, type_of(i))?;
            self.path.pop();
        }
        Ok(())
    }

    fn map(
        &mut self,
        entries: &'x BTreeMap<String, Value>,
        el: &'x Type,
    ) -> Result<(), EncodeError> {
        let r = wire::write_map_len(&mut self.out, entries.len());
        self.wire(r)?;
        for (key, v) in entries {
            let r = wire::write_str(&mut self.out, key);
            self.wire(r)?;
            self.path.push(StepRef::ElementKeyString(key));
            self.value(v, el)?;
            self.path.pop();
        }
        Ok(())
    }

    /// Every attribute of the type, in sorted order; absent ones as nil.
    fn object(
        &mut self,
        attrs: &'x BTreeMap<String, Value>,
        attributes: &'x BTreeMap<String, Type>,
    ) -> Result<(), EncodeError> {
        // Both maps are sorted by name: one merge finds the first attribute that is not in
        // the type, a second pairs each type attribute with its value.
        let mut names = attributes.keys().peekable();
        for k in attrs.keys() {
            while names.next_if(|n| *n < k).is_some() {}
            if names.peek() != Some(&k) {
                let path = self.path.to_path().attr(k.clone());
                return Err(EncodeError::new(
                    path,
                    "attribute is not in the object type",
                ));
            }
        }
        let r = wire::write_map_len(&mut self.out, attributes.len());
        self.wire(r)?;
        let mut values = attrs.iter().peekable();
        for (name, ty) in attributes {
            let r = wire::write_str(&mut self.out, name);
            self.wire(r)?;
            let v = values
                .next_if(|(k, _)| *k == name)
                .map_or(&Value::Null, |(_, v)| v);
            self.path.push(StepRef::Attribute(name));
            self.value(v, ty)?;
            self.path.pop();
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "msgpack_tests.rs"]
mod tests;
