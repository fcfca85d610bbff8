//! Error types of the value layer.
//!
//! Decoding and encoding errors carry the [`AttributePath`] at which they
//! happened, so diagnostics can point at the offending attribute.

use super::path::AttributePath;

/// Renders `message`, prefixed by `path` unless it is the root.
fn render(path: &AttributePath, message: &str) -> String {
    if path.is_root() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

/// A value could not be decoded from its wire form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.path, .message))]
pub struct DecodeError {
    /// Where in the value the problem was found.
    pub path: AttributePath,
    /// What went wrong, e.g. "expected string, found array".
    pub message: String,
}

impl DecodeError {
    /// A decode error at `path`.
    #[must_use]
    pub fn new(path: AttributePath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }
}

/// A value could not be encoded into a wire form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.path, .message))]
pub struct EncodeError {
    /// Where in the value the problem was found.
    pub path: AttributePath,
    /// What went wrong, e.g. "expected string, found list".
    pub message: String,
}

impl EncodeError {
    /// An encode error at `path`.
    #[must_use]
    pub fn new(path: AttributePath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
        }
    }
}

/// A cty type JSON document could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid type JSON: {message}")]
pub struct TypeParseError {
    /// What went wrong.
    pub message: String,
}

impl TypeParseError {
    /// A type parse error.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A string is not a valid number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid number: {message}")]
pub struct NumberParseError {
    /// What went wrong.
    pub message: String,
}

impl NumberParseError {
    /// A number parse error.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_path() {
        let root = DecodeError::new(AttributePath::root(), "trailing bytes");
        assert_eq!(root.to_string(), "trailing bytes");
        let nested = EncodeError::new(
            AttributePath::root().attr("tags").key("a"),
            "expected string, found list",
        );
        assert_eq!(
            nested.to_string(),
            "tags[\"a\"]: expected string, found list"
        );
        assert_eq!(TypeParseError::new("x").to_string(), "invalid type JSON: x");
        assert_eq!(NumberParseError::new("y").to_string(), "invalid number: y");
    }
}
