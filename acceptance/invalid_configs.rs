//! The corpus of invalid configurations under `acceptance/testdata/invalid/`: each one is
//! refused by real Terraform at validate or plan time with a diagnostic naming the attribute
//! (at its line, where the file marks one with `# <-`), never with a crash, and nothing is
//! created (no plan succeeds, and the AWS endpoint is a closed port). A secret the file names
//! with `# absent:` appears nowhere in Terraform's output.

use std::path::PathBuf;

use crate::support::{repo_root, required_providers, Workspace, TERRAFORM_VERSIONS};

fn corpus() -> Vec<PathBuf> {
    let dir = repo_root().join("acceptance/testdata/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("acceptance/testdata/invalid")
        .map_while(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_corpus_has_at_least_fifty_cases() {
    assert!(
        corpus().len() >= 50,
        "only {} invalid configurations",
        corpus().len()
    );
}

#[test]
fn every_invalid_configuration_is_refused_with_its_attribute_and_line() {
    for v in TERRAFORM_VERSIONS {
        let mut ws = Workspace::new(v);
        // Nothing may be sent anywhere: AWS points at a closed port, no cluster is configured.
        for (k, val) in [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ] {
            ws.env(k, val);
        }
        ws.write("providers.tf", &required_providers());
        ws.write("main.tf", "");
        ws.init().assert_success();
        let mut failures = Vec::new();
        for file in corpus() {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&file).expect("read case");
            ws.write("main.tf", &text);
            let out = ws.run(&["plan", "-no-color", "-input=false"]);
            let shown = out.text();
            let flat = shown.split_whitespace().collect::<Vec<_>>().join(" ");
            let expect = text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .map(str::trim);
            let line = text.lines().position(|l| l.contains("# <-")).map(|i| i + 1);
            let absent = text
                .lines()
                .filter_map(|l| l.strip_prefix("# absent: "))
                .map(str::trim);
            let mut problems = Vec::new();
            if out.success() {
                problems.push("the plan succeeded".to_string());
            }
            if shown.contains("panic")
                || shown.contains("crash")
                || shown.contains("Plugin did not respond")
            {
                problems.push("the provider or Terraform crashed".to_string());
            }
            if !shown.contains("Error: ") {
                problems.push("no error diagnostic".to_string());
            }
            if let Some(e) = expect {
                if !flat.contains(e) {
                    problems.push(format!("{e:?} not in the diagnostic"));
                }
            }
            for secret in absent {
                if shown.contains(secret) {
                    problems.push(format!("the output shows {secret:?}"));
                }
            }
            if let Some(n) = line {
                if !shown.contains(&format!("main.tf line {n}")) {
                    problems.push(format!("not pointed at main.tf line {n}"));
                }
            }
            if !problems.is_empty() {
                failures.push(format!("{name}: {}\n{shown}", problems.join("; ")));
            }
        }
        assert!(
            failures.is_empty(),
            "terraform {v}: {} of {} cases failed:\n\n{}",
            failures.len(),
            corpus().len(),
            failures.join("\n----\n")
        );
    }
}
