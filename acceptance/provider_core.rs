//! The provider core with real Terraform: offline init, validate, the schema Terraform sees,
//! diagnostics that point at the configuration line, and prompt exit on Shutdown.

use std::time::Duration;

use dataplatform::framework::schema::{AttributeType, Block, BlockNesting};
use dataplatform::framework::Provider;
use dataplatform::provider::DataplatformProvider;
use serde_json::{json, Value as Json};

use crate::support::{
    line_of, required_providers, Workspace, PROVIDER_ADDRESS, TERRAFORM_VERSIONS,
};

fn provider_block(body: &str) -> String {
    format!(
        "{}\nprovider \"dataplatform\" {{\n{body}}}\n",
        required_providers()
    )
}

#[test]
fn init_and_validate_the_provider_example_offline() {
    let example =
        std::fs::read_to_string(crate::support::repo_root().join("examples/provider/provider.tf"))
            .expect("examples/provider/provider.tf");
    for v in TERRAFORM_VERSIONS {
        let ws = Workspace::mirror_only(v);
        ws.write("main.tf", &example);
        let init = ws.init();
        init.assert_success();
        assert!(
            init.text()
                .contains("Installing dataplatform/dataplatform v0.1.0")
                || init
                    .text()
                    .contains("Installed dataplatform/dataplatform v0.1.0"),
            "terraform {v} init did not install from the mirror:\n{}",
            init.text()
        );
        assert!(
            ws.work_dir().join(".terraform.lock.hcl").exists(),
            "lock file written"
        );
        let validate = ws.run(&["validate", "-no-color"]);
        validate.assert_success();
        assert!(
            validate.text().contains("The configuration is valid"),
            "{}",
            validate.text()
        );
    }
}

fn expected_block(b: &Block) -> Json {
    let mut attributes = serde_json::Map::new();
    for a in &b.attributes {
        let AttributeType::Value(t) = &a.ty else {
            continue;
        };
        let mut o = serde_json::Map::new();
        o.insert("type".into(), t.to_json());
        o.insert("description".into(), json!(a.description));
        o.insert("description_kind".into(), json!("markdown"));
        if a.mode.is_required() {
            o.insert("required".into(), json!(true));
        }
        if a.mode.is_optional() {
            o.insert("optional".into(), json!(true));
        }
        if a.mode.is_computed() {
            o.insert("computed".into(), json!(true));
        }
        if a.sensitive {
            o.insert("sensitive".into(), json!(true));
        }
        attributes.insert(a.name.clone(), Json::Object(o));
    }
    let mut blocks = serde_json::Map::new();
    for nb in &b.blocks {
        let mode = match nb.nesting {
            BlockNesting::Single => "single",
            BlockNesting::Group => "group",
            BlockNesting::List => "list",
            BlockNesting::Set => "set",
            BlockNesting::Map => "map",
        };
        let mut o = serde_json::Map::new();
        o.insert("nesting_mode".into(), json!(mode));
        o.insert("block".into(), expected_block(&nb.block));
        if nb.max_items > 0 && nb.nesting != BlockNesting::Single {
            o.insert("max_items".into(), json!(nb.max_items));
        }
        blocks.insert(nb.type_name.clone(), Json::Object(o));
    }
    let mut o = serde_json::Map::new();
    if !attributes.is_empty() {
        o.insert("attributes".into(), Json::Object(attributes));
    }
    if !blocks.is_empty() {
        o.insert("block_types".into(), Json::Object(blocks));
    }
    o.insert("description".into(), json!(b.description));
    o.insert("description_kind".into(), json!("markdown"));
    Json::Object(o)
}

/// `a` holds everything `expected` says (extra keys in `a` are Terraform's own additions).
fn assert_contains(actual: &Json, expected: &Json, path: &str) {
    match (actual, expected) {
        (Json::Object(a), Json::Object(e)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or_else(|| {
                    panic!("{path}.{k} missing in Terraform's schema: {actual}")
                });
                assert_contains(av, ev, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(actual, expected, "at {path}"),
    }
}

#[test]
fn terraform_sees_the_provider_schema() {
    let expected = expected_block(&DataplatformProvider.schema().block);
    for v in TERRAFORM_VERSIONS {
        let ws = Workspace::new(v);
        ws.write("main.tf", &provider_block("  region = \"eu-central-1\"\n"));
        ws.init().assert_success();
        let out = ws.run(&["providers", "schema", "-json"]);
        out.assert_success();
        let doc: Json = serde_json::from_str(&out.stdout).expect("schema JSON");
        let provider = &doc["provider_schemas"][PROVIDER_ADDRESS]["provider"];
        assert_eq!(provider["version"], json!(0), "terraform {v}");
        assert_contains(
            &provider["block"],
            &expected,
            &format!("terraform {v} provider"),
        );
        // Attributes Terraform lists must all be ours too.
        let listed = provider["block"]["attributes"]
            .as_object()
            .map(|m| m.len())
            .unwrap_or(0);
        assert_eq!(
            listed,
            expected["attributes"]
                .as_object()
                .map(|m| m.len())
                .unwrap_or(0)
        );
        // Provider functions (Terraform 1.8+), with their signatures.
        let functions = &doc["provider_schemas"][PROVIDER_ADDRESS]["functions"];
        if v == TERRAFORM_VERSIONS[0] {
            let f = &functions["spark_submit_args"];
            assert_eq!(f["return_type"], json!(["list", "string"]), "{functions}");
            assert_eq!(f["parameters"][0]["name"], json!("spark_conf"), "{f}");
            assert_eq!(f["parameters"][0]["type"], json!(["map", "string"]), "{f}");
            let f = &functions["tolerates"];
            assert_eq!(f["return_type"], json!("bool"), "{functions}");
            assert_eq!(f["parameters"][1]["name"], json!("taints"), "{f}");
        } else {
            assert!(functions.is_null(), "terraform {v}: {functions}");
        }
        // Ephemeral resources (Terraform 1.10+): the token is sensitive there too.
        let ephemeral = &doc["provider_schemas"][PROVIDER_ADDRESS]["ephemeral_resource_schemas"];
        if v == TERRAFORM_VERSIONS[0] {
            let token = &ephemeral["dataplatform_cluster_auth"]["block"]["attributes"]["token"];
            assert_eq!(token["sensitive"], json!(true), "{ephemeral}");
        } else {
            assert!(ephemeral.is_null(), "terraform {v}: {ephemeral}");
        }
    }
}

struct BadCase {
    body: &'static str,
    needle: &'static str,
    expect: &'static [&'static str],
}

const BAD: &[BadCase] = &[
    BadCase {
        body: "  region = \"Frankfurt\"\n",
        needle: "Frankfurt",
        expect: &["region must be an AWS region name", "\"Frankfurt\""],
    },
    BadCase {
        body: "  assume_role {\n    role_arn = \"arn:aws:iam::12:role/x\"\n  }\n",
        needle: "role_arn",
        expect: &["assume_role.role_arn must be an IAM role ARN"],
    },
    BadCase {
        body: "  endpoints {\n    eks = \"not a url\"\n  }\n",
        needle: "eks =",
        expect: &["endpoints.eks is not a valid URL"],
    },
    BadCase {
        body: "  kubernetes {\n    host = \"https://k8s.example.com\"\n    config_path = \"/tmp/kubeconfig\"\n  }\n",
        needle: "config_path",
        expect: &["Conflicting Kubernetes settings"],
    },
    BadCase {
        body: "  kubernetes {\n    host = \"https://k8s.example.com\"\n    cluster_ca_certificate = \"not pem\"\n  }\n",
        needle: "cluster_ca_certificate",
        expect: &["kubernetes.cluster_ca_certificate must hold PEM certificate data"],
    },
    BadCase {
        body: "  max_retries = -1\n",
        needle: "max_retries",
        expect: &["max_retries must be a whole number between 0 and 100"],
    },
    BadCase {
        body: "  default_tags {\n    tags = {\n      \"aws:owner\" = \"me\"\n    }\n  }\n",
        needle: "\"aws:owner\" =",
        expect: &["Reserved tag key", "aws:owner"],
    },
];

#[test]
fn bad_provider_arguments_point_at_the_attribute_and_line() {
    for v in TERRAFORM_VERSIONS {
        // Terraform validates a provider's configuration only when a resource uses it.
        let ws = Workspace::acctest(v);
        ws.init().assert_success();
        for case in BAD {
            let config = format!(
                "{}\nresource \"dataplatform_acctest_thing\" \"a\" {{\n  name = \"a\"\n}}\n",
                provider_block(case.body)
            );
            ws.write("main.tf", &config);
            let out = ws.run(&["validate", "-no-color"]);
            out.assert_failure();
            let text = out.text();
            let line = line_of(&config, case.needle);
            assert!(
                text.contains(&format!("on main.tf line {line}")),
                "terraform {v}: expected a diagnostic at main.tf line {line} for {:?}:\n{text}",
                case.body
            );
            for e in case.expect {
                assert!(
                    text.contains(e),
                    "terraform {v}: expected {e:?} in:\n{text}"
                );
            }
            assert!(!text.contains("panic"), "{text}");
        }
    }
}

#[test]
fn plugin_exits_promptly_on_shutdown() {
    for v in TERRAFORM_VERSIONS {
        let mut ws = Workspace::new(v);
        ws.write("main.tf", &provider_block("  region = \"eu-central-1\"\n"));
        ws.init().assert_success();
        let log = ws.dir.path().join("terraform.log");
        ws.env("TF_LOG", "TRACE");
        ws.env("TF_LOG_PATH", &log.display().to_string());
        ws.run_with_limit(&["validate", "-no-color"], Duration::from_secs(60))
            .assert_success();
        let text = std::fs::read_to_string(&log).expect("terraform log");
        let exits = text.matches("plugin exited").count();
        assert!(
            exits >= 1,
            "terraform {v}: the provider never exited cleanly:\n{}",
            tail(&text)
        );
        for bad in [
            "plugin failed to exit gracefully",
            "killing plugin",
            "plugin process exited with error",
        ] {
            assert!(
                !text.contains(bad),
                "terraform {v}: {bad:?} in the log:\n{}",
                tail(&text)
            );
        }
        // Our own JSON log lines reach Terraform's log under the provider's name.
        assert!(
            text.contains("configuring provider") || text.contains("provider.dataplatform"),
            "no provider log lines"
        );
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
