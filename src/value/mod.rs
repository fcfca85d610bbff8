//! The value layer: cty types and values, and their wire codecs.
//!
//! This module knows nothing of gRPC or protobuf. It provides:
//! - [`Type`]: cty types and their type JSON ([`types`]);
//! - [`Number`]: arbitrary-precision numbers ([`number`]);
//! - [`Value`]/[`Known`]: null, unknown or known data ([`value`](self::value));
//! - [`AttributePath`]/[`PathStep`]: where inside a value ([`path`]);
//! - [`decode_msgpack`]/[`encode_msgpack`]: the cty msgpack wire format
//!   Terraform sends in `DynamicValue.msgpack` ([`msgpack`]);
//! - [`decode_json`]/[`encode_json`]: Terraform state attribute JSON ([`json`]);
//! - [`DecodeError`]/[`EncodeError`]: failures, with the path where they
//!   happened ([`error`]).
//!
//! Nothing here panics on untrusted input: every length is checked against
//! the bytes actually present, and nesting is limited.

pub mod error;
pub mod json;
pub mod msgpack;
pub mod number;
pub mod path;
pub mod types;
#[allow(clippy::module_inception)]
pub mod value;
mod wire;

#[cfg(test)]
mod proptests;

pub use error::{DecodeError, EncodeError, NumberParseError, TypeParseError};
pub use json::{decode_json, decode_json_value, encode_json, encode_json_value};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use number::Number;
pub use path::{AttributePath, PathStep};
pub use types::Type;
pub use value::{Known, Value};
