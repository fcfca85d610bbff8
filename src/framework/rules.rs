//! Rules across the attributes and blocks of one block (`exactly one of`, `conflicts with`),
//! declared on the schema next to what they constrain: validation runs them on every object of
//! the block, and the docs state them.
//!
//! Presence: `exactly_one_of`, `at_least_one_of` and `required_with` count a value not known
//! yet as given (it is in the configuration); `conflicts_with` reports only values that are
//! known, since one not known yet may still turn out null. An absent nested block (null, or
//! an empty list, set or map) is not given.

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// Exactly one of the names is given.
    ExactlyOneOf,
    /// At least one of the names is given.
    AtLeastOneOf,
    /// The first name is not given together with any of the others.
    ConflictsWith,
    /// The first name is given only together with all of the others.
    RequiredWith,
}

/// One rule over the attributes and nested blocks of a block, with the diagnostic it reports.
#[derive(Clone, Debug)]
pub struct Rule {
    pub kind: RuleKind,
    pub names: Vec<String>,
    /// The attribute the diagnostic points at.
    pub at: String,
    pub summary: String,
    pub detail: String,
}

fn quoted(names: &[String], last_join: &str) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match q.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {last_join} {last}", rest.join(", ")),
        _ => q.join(""),
    }
}

impl Rule {
    fn new(kind: RuleKind, names: &[&str], at: &str, summary: &str, detail: String) -> Self {
        Rule {
            kind,
            names: names.iter().map(|n| n.to_string()).collect(),
            at: at.to_string(),
            summary: summary.to_string(),
            detail,
        }
    }

    /// Exactly one of `names`; reported at the last one.
    pub fn exactly_one_of(names: &[&str]) -> Self {
        let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        Rule::new(
            RuleKind::ExactlyOneOf,
            names,
            names.last().copied().unwrap_or_default(),
            "Invalid combination of arguments",
            format!("Set exactly one of {}.", quoted(&list, "and")),
        )
    }

    /// At least one of `names`; reported at the first one.
    pub fn at_least_one_of(names: &[&str]) -> Self {
        let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        Rule::new(
            RuleKind::AtLeastOneOf,
            names,
            names.first().copied().unwrap_or_default(),
            "Missing argument",
            format!("Set at least one of {}.", quoted(&list, "or")),
        )
    }

    /// `name` not together with any of `others`; reported at `name`.
    pub fn conflicts_with(name: &str, others: &[&str]) -> Self {
        let list: Vec<String> = others.iter().map(|n| n.to_string()).collect();
        let names: Vec<&str> = std::iter::once(name)
            .chain(others.iter().copied())
            .collect();
        Rule::new(
            RuleKind::ConflictsWith,
            &names,
            name,
            "Conflicting arguments",
            format!("{name} cannot be set with {}.", quoted(&list, "or")),
        )
    }

    /// `name` only together with all of `others`; reported at `name`.
    pub fn required_with(name: &str, others: &[&str]) -> Self {
        let list: Vec<String> = others.iter().map(|n| n.to_string()).collect();
        let names: Vec<&str> = std::iter::once(name)
            .chain(others.iter().copied())
            .collect();
        Rule::new(
            RuleKind::RequiredWith,
            &names,
            name,
            "Missing required argument",
            format!("{name} needs {}.", quoted(&list, "and")),
        )
    }

    /// Reports at `name` instead: an attribute of the block, or of a single nested block
    /// (`block.attribute`), since Terraform points at attributes only.
    pub fn at(mut self, name: &str) -> Self {
        self.at = name.to_string();
        self
    }

    /// Reports this summary and detail instead of the generic ones.
    pub fn message(mut self, summary: &str, detail: &str) -> Self {
        self.summary = summary.to_string();
        self.detail = detail.to_string();
        self
    }

    /// The rule as the docs state it.
    pub fn description(&self) -> String {
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (first, rest) = match self.names.split_first() {
            Some((f, r)) => (f.as_str(), r),
            None => ("", &[][..]),
        };
        match self.kind {
            RuleKind::ExactlyOneOf => format!("Exactly one of {}.", list(&self.names)),
            RuleKind::AtLeastOneOf => format!("At least one of {}.", list(&self.names)),
            RuleKind::ConflictsWith => format!("`{first}` conflicts with {}.", list(rest)),
            RuleKind::RequiredWith => format!("`{first}` requires {}.", list(rest)),
        }
    }

    /// Checks one object of the block (known, not null) at `path`.
    pub fn check(&self, path: &AttributePath, object: &Value, diags: &mut Diagnostics) {
        let value = |n: &str| object.get_attr(n).unwrap_or(&Value::Null);
        let given = |n: &str| present(value(n));
        let known = |n: &str| !value(n).is_unknown() && present(value(n));
        let broken = match self.kind {
            RuleKind::ExactlyOneOf => self.names.iter().filter(|n| given(n)).count() != 1,
            RuleKind::AtLeastOneOf => !self.names.iter().any(|n| given(n)),
            RuleKind::ConflictsWith => match self.names.split_first() {
                Some((first, rest)) => known(first) && rest.iter().any(|n| known(n)),
                None => false,
            },
            RuleKind::RequiredWith => match self.names.split_first() {
                Some((first, rest)) => given(first) && !rest.iter().all(|n| given(n)),
                None => false,
            },
        };
        if broken {
            diags.attribute_error(
                self.at
                    .split('.')
                    .fold(path.clone(), |p, step| p.attr(step)),
                self.summary.clone(),
                self.detail.clone(),
            );
        }
    }
}

/// Given in the configuration: not null, and not an empty block collection.
fn present(v: &Value) -> bool {
    if v.is_null() {
        return false;
    }
    match (v.as_list(), v.as_map()) {
        (Some(l), _) => !l.is_empty(),
        (_, Some(m)) => !m.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    fn errors(rule: &Rule, v: &Value) -> Vec<String> {
        let mut d = Diagnostics::new();
        rule.check(&AttributePath::root(), v, &mut d);
        d.iter().map(|x| format!("{x:?}")).collect()
    }

    #[test]
    fn exactly_one_of_rejects_none_and_both() {
        let r = Rule::exactly_one_of(&["a", "b"]);
        let one = obj(vec![("a", Value::string("x")), ("b", Value::Null)]);
        let both = obj(vec![("a", Value::string("x")), ("b", Value::string("y"))]);
        let none = obj(vec![("a", Value::Null), ("b", Value::Null)]);
        assert!(errors(&r, &one).is_empty());
        assert_eq!(errors(&r, &both).len(), 1);
        assert_eq!(errors(&r, &none).len(), 1);
        assert_eq!(r.description(), "Exactly one of `a`, `b`.");
    }

    #[test]
    fn a_value_not_known_yet_conflicts_with_nothing() {
        let r = Rule::conflicts_with("a", &["b"]);
        let unknown = obj(vec![("a", Value::Unknown), ("b", Value::string("y"))]);
        let both = obj(vec![("a", Value::string("x")), ("b", Value::string("y"))]);
        assert!(errors(&r, &unknown).is_empty());
        assert!(errors(&r, &both)[0].contains("a cannot be set with `b`."));
    }

    #[test]
    fn required_with_and_at_least_one_of_count_unknown_values_as_given() {
        let r = Rule::required_with("a", &["b"]);
        assert_eq!(
            errors(
                &r,
                &obj(vec![("a", Value::string("x")), ("b", Value::Null)])
            )
            .len(),
            1
        );
        assert!(errors(
            &r,
            &obj(vec![("a", Value::string("x")), ("b", Value::Unknown)])
        )
        .is_empty());
        let r = Rule::at_least_one_of(&["a", "b"]);
        assert!(errors(&r, &obj(vec![("a", Value::Null), ("b", Value::Unknown)])).is_empty());
        assert_eq!(
            errors(&r, &obj(vec![("a", Value::Null), ("b", Value::Null)])).len(),
            1
        );
    }

    #[test]
    fn an_empty_block_list_is_not_given() {
        let r = Rule::conflicts_with("a", &["blocks"]);
        let v = obj(vec![
            ("a", Value::string("x")),
            ("blocks", Value::list(vec![])),
        ]);
        assert!(errors(&r, &v).is_empty());
    }
}
