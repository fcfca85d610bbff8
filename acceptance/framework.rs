//! The framework under real Terraform, through the test-only `dataplatform_acctest_thing`:
//! plans that core accepts (defaults, computed values, requires-replace), a second plan that is
//! empty, drift, import, sensitive values kept out of output, and diagnostics at the line.

use std::path::Path;

use serde_json::Value as Json;

use crate::support::{line_of, required_providers, Output, Workspace, TERRAFORM_VERSIONS};

fn config(resource_body: &str) -> String {
    format!(
        "{}\nprovider \"dataplatform\" {{\n  region = \"eu-central-1\"\n}}\n\nresource \"dataplatform_acctest_thing\" \"a\" {{\n{resource_body}}}\n",
        required_providers()
    )
}

fn workspace(v: &str) -> (Workspace, tempfile::TempDir) {
    let store = tempfile::tempdir().expect("store");
    let mut ws = Workspace::acctest(v);
    ws.env(
        "DATAPLATFORM_ACCTEST_DIR",
        &store.path().display().to_string(),
    );
    (ws, store)
}

fn objects(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store)
        .expect("store")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn state_values(ws: &Workspace) -> Json {
    let out = ws.run(&["show", "-json", "-no-color"]);
    out.assert_success();
    let doc: Json = serde_json::from_str(&out.stdout).expect("show -json");
    doc["values"]["root_module"]["resources"][0]["values"].clone()
}

#[track_caller]
fn assert_no_changes(ws: &Workspace) {
    let out: Output = ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(
        out.code,
        Some(0),
        "terraform {}: expected an empty plan:\n{}",
        ws.version,
        out.text()
    );
}

const BASE: &str = "  name   = \"a\"\n  size   = 2\n  secret = \"hunter2-secret\"\n  labels = { team = \"data\" }\n  port {\n    number = 80\n  }\n";

#[test]
fn lifecycle_create_update_replace_drift_destroy() {
    for v in TERRAFORM_VERSIONS {
        let (ws, store) = workspace(v);
        ws.write("main.tf", &config(BASE));
        ws.init().assert_success();

        let plan = ws.run(&["plan", "-no-color", "-input=false"]);
        plan.assert_success();
        assert!(
            plan.text().contains("1 to add, 0 to change, 0 to destroy"),
            "{}",
            plan.text()
        );
        assert!(
            !plan.text().contains("hunter2-secret"),
            "secret in plan output"
        );
        assert!(plan.text().contains("(sensitive value)"), "{}", plan.text());

        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert_eq!(objects(store.path()), vec!["thing-a"]);
        let s = state_values(&ws);
        assert_eq!(s["id"], "thing-a");
        assert_eq!(s["tier"], "standard", "default applied");
        assert_eq!(s["port"][0]["protocol"], "TCP", "nested default");
        assert_eq!(s["revision"], 1);
        assert_eq!(s["timeouts"], Json::Null);
        assert_no_changes(&ws);

        // In place.
        ws.write(
            "main.tf",
            &config(&BASE.replace("size   = 2", "size   = 3")),
        );
        let plan = ws.run(&["plan", "-no-color", "-input=false"]);
        assert!(
            plan.text().contains("0 to add, 1 to change, 0 to destroy"),
            "{}",
            plan.text()
        );
        assert!(plan.text().contains("update in-place"), "{}", plan.text());
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        let s = state_values(&ws);
        assert_eq!(s["revision"], 2);
        assert_eq!(s["id"], "thing-a", "id kept");
        assert_no_changes(&ws);

        // Replacement, reported at the attribute.
        let renamed = BASE
            .replace("size   = 2", "size   = 3")
            .replace("\"a\"", "\"b\"");
        ws.write("main.tf", &config(&renamed));
        let plan = ws.run(&["plan", "-no-color", "-input=false"]);
        assert!(
            plan.text().contains("1 to add, 0 to change, 1 to destroy"),
            "{}",
            plan.text()
        );
        assert!(
            plan.text().contains("forces replacement"),
            "{}",
            plan.text()
        );
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert_eq!(objects(store.path()), vec!["thing-b"]);
        assert_no_changes(&ws);

        // Deleted outside Terraform: the next plan re-creates it.
        std::fs::remove_file(store.path().join("thing-b")).expect("delete out of band");
        let plan = ws.run(&["plan", "-no-color", "-input=false"]);
        assert!(
            plan.text().contains("1 to add, 0 to change, 0 to destroy"),
            "{}",
            plan.text()
        );
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert_eq!(objects(store.path()), vec!["thing-b"]);

        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(objects(store.path()).is_empty(), "destroy leaves nothing");
    }
}

#[test]
fn import_reads_the_object_into_state() {
    for v in TERRAFORM_VERSIONS {
        let (ws, store) = workspace(v);
        ws.write("main.tf", &config(BASE));
        ws.init().assert_success();
        ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        let before = state_values(&ws);
        ws.run(&["state", "rm", "dataplatform_acctest_thing.a"])
            .assert_success();
        let out = ws.run(&[
            "import",
            "-no-color",
            "-input=false",
            "dataplatform_acctest_thing.a",
            "thing-a",
        ]);
        out.assert_success();
        assert!(out.text().contains("Import successful"), "{}", out.text());
        assert_eq!(
            state_values(&ws),
            before,
            "imported state equals the created state"
        );
        assert_no_changes(&ws);
        ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
            .assert_success();
        assert!(objects(store.path()).is_empty());
    }
}

#[test]
fn bad_resource_arguments_point_at_the_line_and_create_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "  name = \"a\"\n  size = 11\n",
            "size = 11",
            "size must be a whole number between 1 and 10",
        ),
        (
            "  name = \"a\"\n  tier = \"gold\"\n",
            "gold",
            "tier must be one of",
        ),
        (
            "  name = \"a\"\n  port {\n    number = 70000\n  }\n",
            "70000",
            "port[0].number must be a whole number",
        ),
        (
            "  name = \"a\"\n  timeouts {\n    create = \"10 minutes\"\n  }\n",
            "10 minutes",
            "timeouts.create is not a valid duration",
        ),
    ];
    for v in TERRAFORM_VERSIONS {
        let (ws, store) = workspace(v);
        ws.init().assert_success();
        for (body, needle, message) in cases {
            let cfg = config(body);
            ws.write("main.tf", &cfg);
            let out = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
            out.assert_failure();
            let line = line_of(&cfg, needle);
            let text = out.text();
            assert!(
                text.contains(&format!("on main.tf line {line}")),
                "terraform {v}: line {line} for {needle}:\n{text}"
            );
            assert!(
                text.contains(message),
                "terraform {v}: {message:?} in:\n{text}"
            );
            assert!(objects(store.path()).is_empty(), "nothing created");
        }
    }
}
