//! The last guard against a secret in a diagnostic: the server collects the strings of a
//! configuration held by sensitive or write-only attributes (and by everything nested in one)
//! and replaces any of them a hand-written check or an error message quotes, before the
//! diagnostics leave the provider. Validators never quote them in the first place
//! ([`Subject`](super::validators::Subject)); this catches what else might.

use crate::value::{Known, Value};

use super::diagnostics::Diagnostics;
use super::schema::{AttributeType, Block};

/// What stands in a message for a secret.
pub const REDACTED: &str = "(sensitive value)";

/// Shorter strings are left alone: they would match ordinary words, and no check quotes them.
const MIN_CHARS: usize = 4;

/// The secrets of one or more values of a block.
#[derive(Debug, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The strings held by sensitive or write-only attributes of `values` (configurations or
    /// states of `block`), with the forms a message could quote them in.
    pub fn of(block: &Block, values: &[&Value]) -> Secrets {
        let mut found = Vec::new();
        for v in values {
            collect(block, v, false, &mut found);
        }
        let mut forms = Vec::new();
        for s in found {
            let trimmed = s.trim();
            for form in [
                s.as_str(),
                trimmed,
                &s.escape_debug().to_string(),
                &trimmed.escape_debug().to_string(),
            ] {
                if form.chars().count() >= MIN_CHARS && !forms.iter().any(|f: &String| f == form) {
                    forms.push(form.to_string());
                }
            }
        }
        // The longest first, so a secret containing another is replaced whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Secrets(forms)
    }

    /// Replaces the secrets of `values` in `diags`; collects them only when there is a
    /// diagnostic to look at (most calls have none).
    pub fn redact_in(block: &Block, values: &[&Value], diags: &mut Diagnostics) {
        if !diags.is_empty() {
            Secrets::of(block, values).redact(diags);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every secret in the summaries and details of `diags`.
    pub fn redact(&self, diags: &mut Diagnostics) {
        if self.is_empty() {
            return;
        }
        for d in &mut diags.0 {
            for text in [&mut d.summary, &mut d.detail] {
                for s in &self.0 {
                    if text.contains(s.as_str()) {
                        *text = text.replace(s.as_str(), REDACTED);
                    }
                }
            }
        }
    }
}

fn collect(block: &Block, v: &Value, inherited: bool, out: &mut Vec<String>) {
    if !v.is_known() {
        return;
    }
    for a in &block.attributes {
        let Some(av) = v.get_attr(&a.name) else {
            continue;
        };
        let sensitive = inherited || a.sensitive || a.write_only;
        match &a.ty {
            AttributeType::Nested(n) => {
                let inner = n.block();
                for_each_object(av, &mut |o| collect(&inner, o, sensitive, out));
            }
            AttributeType::Value(_) if sensitive => strings(av, out),
            AttributeType::Value(_) => {}
        }
    }
    for b in &block.blocks {
        if let Some(bv) = v.get_attr(&b.type_name) {
            for_each_object(bv, &mut |o| collect(&b.block, o, inherited, out));
        }
    }
}

/// The object, or each object of a list, set or map of them.
fn for_each_object(v: &Value, f: &mut impl FnMut(&Value)) {
    match v.as_known() {
        Some(Known::Object(_)) => f(v),
        Some(Known::List(items) | Known::Set(items) | Known::Tuple(items)) => {
            items.iter().for_each(&mut *f)
        }
        Some(Known::Map(m)) => m.values().for_each(f),
        _ => {}
    }
}

/// Every string in `v`, map keys included.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v.as_known() {
        Some(Known::String(s)) => out.push(s.clone()),
        Some(Known::List(items) | Known::Set(items) | Known::Tuple(items)) => {
            items.iter().for_each(|i| strings(i, out))
        }
        Some(Known::Map(m)) => {
            for (k, i) in m {
                out.push(k.clone());
                strings(i, out);
            }
        }
        Some(Known::Object(m)) => m.values().for_each(|i| strings(i, out)),
        Some(Known::Dynamic(_, inner)) => strings(inner, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, Mode, NestedBlock, ObjectNesting};
    use crate::framework::Diagnostic;
    use crate::value::Type;

    fn block() -> Block {
        Block::new()
            .attribute(Attribute::optional("name", Type::String))
            .attribute(Attribute::optional("password_wo", Type::String).write_only())
            .attribute(
                Attribute::nested(
                    "credentials",
                    ObjectNesting::Single,
                    Mode::Optional,
                    vec![Attribute::optional("key", Type::String)],
                )
                .sensitive(),
            )
            .block(NestedBlock::list(
                "secrets",
                Block::new().attribute(Attribute::optional("url", Type::String).sensitive()),
            ))
    }

    #[test]
    fn secrets_quoted_by_a_check_are_replaced_and_other_values_kept() {
        let config = Value::object(vec![
            ("name", Value::string("analytics")),
            ("password_wo", Value::string("hunter2-wo")),
            (
                "credentials",
                Value::object(vec![("key", Value::string("key \"k1\""))]),
            ),
            (
                "secrets",
                Value::list(vec![Value::object(vec![(
                    "url",
                    Value::string("redis://u:pw-9@cache:6379/0\n"),
                )])]),
            ),
        ]);
        let secrets = Secrets::of(&block(), &[&config]);
        let mut diags = Diagnostics::from(Diagnostic::error(
            "Bad hunter2-wo",
            "analytics: got \"key \\\"k1\\\"\", and redis://u:pw-9@cache:6379/0 (\"redis://u:pw-9@cache:6379/0\\n\").",
        ));
        secrets.redact(&mut diags);
        let d = &diags.0[0];
        assert_eq!(d.summary, "Bad (sensitive value)");
        assert_eq!(
            d.detail,
            "analytics: got \"(sensitive value)\", and (sensitive value) (\"(sensitive value)\")."
        );
    }

    #[test]
    fn short_strings_are_left_alone() {
        let config = Value::object(vec![("password_wo", Value::string("abc"))]);
        let secrets = Secrets::of(&block(), &[&config]);
        assert!(secrets.is_empty());
    }
}
