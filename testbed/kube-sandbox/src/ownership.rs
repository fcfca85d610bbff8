//! Field ownership as the API server tracks it for server-side apply: which field manager set
//! which fields, so an apply that would change a field another manager owns is refused with
//! 409 Conflict (unless forced), naming the manager and the fields.
//!
//! Appliers own the fields of their last applied configuration (kept by the caller). Writers
//! that create, replace or patch own the fields they set or changed; a changed field moves to
//! its new writer, as a real API server moves it.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// A field: the keys leading to it. Lists are atomic (one field), as the merge replaces them.
pub type Field = Vec<String>;

/// Whether `path` (under the object root) is something a manager can own.
fn ownable(path: &[String], key: &str) -> bool {
    match path {
        [] => !matches!(key, "apiVersion" | "kind" | "status"),
        [m] if m == "metadata" => !matches!(
            key,
            "name"
                | "namespace"
                | "resourceVersion"
                | "uid"
                | "managedFields"
                | "creationTimestamp"
                | "generation"
                | "generateName"
                | "deletionTimestamp"
                | "selfLink"
        ),
        _ => true,
    }
}

fn walk(v: &Value, path: &mut Field, out: &mut Vec<Field>) {
    match v.as_object() {
        Some(o) if !o.is_empty() => {
            for (k, child) in o {
                if !ownable(path, k) {
                    continue;
                }
                path.push(k.clone());
                walk(child, path, out);
                path.pop();
            }
        }
        _ if !path.is_empty() => out.push(path.clone()),
        _ => {}
    }
}

/// The fields an object sets: its leaves (scalars, lists, empty maps).
pub fn fields(v: &Value) -> Vec<Field> {
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

pub fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, seg| cur.get(seg))
}

/// The fields of `new` whose value differs from `old`'s.
pub fn changed(old: &Value, new: &Value) -> Vec<Field> {
    fields(new)
        .into_iter()
        .filter(|p| get(old, p) != get(new, p))
        .collect()
}

/// Whether owning `owned` means owning (part of) `field`: one is a prefix of the other.
pub fn overlaps(owned: &[String], field: &[String]) -> bool {
    let n = owned.len().min(field.len());
    owned[..n] == field[..n]
}

pub fn owns_any(set: &BTreeSet<Field>, field: &[String]) -> bool {
    set.iter().any(|o| overlaps(o, field))
}

/// `.spec.replicas`, as the API server names fields in conflicts.
pub fn field_name(path: &[String]) -> String {
    path.iter().map(|s| format!(".{s}")).collect()
}

/// The 409 Conflict a real API server sends, for `(manager, field)` pairs.
pub fn conflict_body(api_version: &str, conflicts: &[(String, Field)]) -> Value {
    let managers: BTreeSet<&String> = conflicts.iter().map(|(m, _)| m).collect();
    let count = conflicts.len();
    let mut message = format!(
        "Apply failed with {count} conflict{}: ",
        if count == 1 { "" } else { "s" }
    );
    let parts: Vec<String> = managers
        .iter()
        .map(|m| {
            let fields: Vec<String> = conflicts
                .iter()
                .filter(|(o, _)| o == *m)
                .map(|(_, f)| field_name(f))
                .collect();
            if fields.len() == 1 {
                format!("conflict with \"{m}\" using {api_version}: {}", fields[0])
            } else {
                format!(
                    "conflicts with \"{m}\" using {api_version}:\n- {}",
                    fields.join("\n- ")
                )
            }
        })
        .collect();
    message.push_str(&parts.join("\n"));
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, f)| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with \"{m}\" using {api_version}"),
                "field": field_name(f),
            })
        })
        .collect();
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": "Conflict",
        "details": {"causes": causes}, "code": 409,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Field {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn fields_are_leaves_without_server_set_metadata() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "m", "namespace": "n", "uid": "u", "labels": {"a": "1"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}},
            "status": {"replicas": 2}});
        let got: BTreeSet<Field> = fields(&obj).into_iter().collect();
        let want: BTreeSet<Field> = [
            f("metadata.labels.a"),
            f("spec.replicas"),
            f("spec.template.spec.containers"),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn changed_fields_and_conflict_messages() {
        let old = json!({"spec": {"replicas": 2, "paused": false}});
        let new = json!({"spec": {"replicas": 3, "paused": false}});
        assert_eq!(changed(&old, &new), vec![f("spec.replicas")]);
        let one = conflict_body("apps/v1", &[("hpa".into(), f("spec.replicas"))]);
        assert_eq!(
            one["message"],
            "Apply failed with 1 conflict: conflict with \"hpa\" using apps/v1: .spec.replicas"
        );
        assert_eq!(one["details"]["causes"][0]["field"], ".spec.replicas");
        let two = conflict_body(
            "v1",
            &[("edit".into(), f("data.a")), ("edit".into(), f("data.b"))],
        );
        assert_eq!(
            two["message"],
            "Apply failed with 2 conflicts: conflicts with \"edit\" using v1:\n- .data.a\n- .data.b"
        );
        assert!(overlaps(&f("spec"), &f("spec.replicas")));
        assert!(!overlaps(&f("spec.paused"), &f("spec.replicas")));
    }
}
