//! Attribute paths: where inside a value something is (or went wrong).
//!
//! A path is a sequence of steps from the root of a value. Its `Display`
//! form reads like Terraform's own diagnostics: `tags["a"].taint[0].effect`.

use std::fmt;

/// One step of an [`AttributePath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An object attribute, by name.
    Attribute(String),
    /// A map element, by key.
    ElementKeyString(String),
    /// A list or tuple element, by index. Set elements are addressed by
    /// their position in the decoded order (Terraform itself addresses set
    /// elements by value, which this layer does not model).
    ElementKeyInt(i64),
}

/// A path from the root of a value to somewhere inside it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path, addressing the whole value.
    #[must_use]
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by an attribute step.
    #[must_use]
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathStep::Attribute(name.into()));
        self
    }

    /// This path extended by a map-key step.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.0.push(PathStep::ElementKeyString(key.into()));
        self
    }

    /// This path extended by an index step.
    #[must_use]
    pub fn index(mut self, index: i64) -> Self {
        self.0.push(PathStep::ElementKeyInt(index));
        self
    }

    /// Appends a step in place.
    pub fn push(&mut self, step: PathStep) {
        self.0.push(step);
    }

    /// Removes and returns the last step, if any.
    pub fn pop(&mut self) -> Option<PathStep> {
        self.0.pop()
    }

    /// The steps of this path, root first.
    #[must_use]
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    /// Whether this is the root path.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the path has no steps (same as [`AttributePath::is_root`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `prefix` is a prefix of (or equal to) this path.
    #[must_use]
    pub fn starts_with(&self, prefix: &AttributePath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl From<Vec<PathStep>> for AttributePath {
    fn from(steps: Vec<PathStep>) -> Self {
        Self(steps)
    }
}

/// One borrowed step of a [`PathStack`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum StepRef<'a> {
    Attribute(&'a str),
    ElementKeyString(&'a str),
    ElementKeyInt(usize),
}

/// The path of a walk in progress, with borrowed steps: pushing and popping allocate
/// nothing, and an [`AttributePath`] is made only when an error needs one.
#[derive(Clone, Debug, Default)]
pub(crate) struct PathStack<'a>(Vec<StepRef<'a>>);

impl<'a> PathStack<'a> {
    pub(crate) fn push(&mut self, step: StepRef<'a>) {
        self.0.push(step);
    }

    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    /// The owned path of the current position.
    pub(crate) fn to_path(&self) -> AttributePath {
        AttributePath(
            self.0
                .iter()
                .map(|s| match *s {
                    StepRef::Attribute(n) => PathStep::Attribute(n.to_owned()),
                    StepRef::ElementKeyString(k) => PathStep::ElementKeyString(k.to_owned()),
                    StepRef::ElementKeyInt(i) => {
                        PathStep::ElementKeyInt(i64::try_from(i).unwrap_or(i64::MAX))
                    }
                })
                .collect(),
        )
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyString(key) => write!(f, "[{key:?}]")?,
                PathStep::ElementKeyInt(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_table() {
        let cases = [
            (AttributePath::root(), ""),
            (AttributePath::root().attr("id"), "id"),
            (
                AttributePath::root()
                    .attr("tags")
                    .key("a")
                    .attr("taint")
                    .index(0)
                    .attr("effect"),
                "tags[\"a\"].taint[0].effect",
            ),
            (AttributePath::root().key("x\"y"), "[\"x\\\"y\"]"),
            (AttributePath::root().index(3).attr("b"), "[3].b"),
        ];
        for (path, want) in cases {
            assert_eq!(path.to_string(), want);
        }
    }

    #[test]
    fn push_pop_and_prefix() {
        let mut p = AttributePath::root().attr("a");
        p.push(PathStep::ElementKeyInt(1));
        assert_eq!(p.len(), 2);
        assert!(p.starts_with(&AttributePath::root().attr("a")));
        assert!(!p.starts_with(&AttributePath::root().attr("b")));
        assert_eq!(p.pop(), Some(PathStep::ElementKeyInt(1)));
        assert_eq!(p.steps(), &[PathStep::Attribute("a".into())]);
        assert!(AttributePath::root().is_root());
        assert!(AttributePath::root().is_empty());
    }
}
