//! No secret is echoed: every sensitive or write-only attribute of the provider configuration,
//! of every resource and of every data source the provider lists (found by walking the
//! schemas, nested ones included) is set to bad values carrying a marker and sent through
//! ValidateProviderConfig and ConfigureProvider, ValidateResourceConfig and PlanResourceChange,
//! or ValidateDataResourceConfig. The marker must appear in no diagnostic and no log line, no
//! check may have quoted it for the server's redaction to catch, and the values the attribute's
//! validators refuse must be refused, so the checks did run.

use serde_json::{Map, Value as Json};
use tracing_subscriber::prelude::*;

use super::change_matrix::{cases, provider, tokens, Client};
use super::core_model::{proposed_new, Core};
use super::fixture::{dv, path_names, serve_in_process};
use crate::framework::redact::REDACTED;
use crate::framework::schema::{AttributeType, Block, BlockNesting, Mode, Schema};
use crate::framework::Provider;
use crate::protocol::generated::tfplugin6 as pb;
use crate::provider::DataplatformProvider;
use crate::value::{Type, Value};

/// What every marker starts with; compared case-insensitively (a URL scheme is lowercased).
const MARK: &str = "s3cr3t-marker";

/// The bad values: their marker (none for the empty string) and whether every attribute with a
/// validator must refuse them.
fn bad_values() -> Vec<(Option<String>, String, bool)> {
    let m = |n: usize| format!("s3cr3t-MARKER-{n}");
    vec![
        (Some(m(0)), m(0), false),
        // A URL with a password, read from a file with its trailing newline.
        (
            Some(m(1)),
            format!("redis://default:{}@cache.example.com:6379/0\n", m(1)),
            false,
        ),
        (Some(m(2)), format!("{}-", m(2)).repeat(400), true),
        (None, String::new(), true),
        (Some(m(4)), format!("{} with spaces", m(4)), false),
        // Parses as a URL whose scheme is the marker.
        (Some(m(5)), format!("{}:opaque", m(5)), false),
        // Quotes, a backslash and a tab: escaped when quoted.
        (Some(m(6)), format!("\"{}\"\\\t", m(6)), false),
        (
            Some(m(7)),
            format!("https://admin:{}@k8s.example.com:6443/\n", m(7)),
            false,
        ),
    ]
}

/// One step from a block to a sensitive attribute in configuration JSON.
#[derive(Clone, Debug)]
enum Step {
    Name(String),
    /// The first (only) element of a list or set.
    First,
    /// The element `k` of a map.
    Key,
}

/// A sensitive attribute the configuration can set.
#[derive(Debug)]
struct Secret {
    path: Vec<Step>,
    ty: Type,
    validated: bool,
}

impl Secret {
    fn dotted(&self) -> String {
        self.names().join(".")
    }
    fn names(&self) -> Vec<String> {
        self.path
            .iter()
            .filter_map(|s| match s {
                Step::Name(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }
    /// The configuration JSON of `value` for this attribute's type.
    fn json(&self, value: &str) -> Json {
        let s = Json::String(value.to_string());
        match &self.ty {
            Type::String => s,
            Type::List(t) | Type::Set(t) if **t == Type::String => Json::Array(vec![s]),
            Type::Map(t) if **t == Type::String => serde_json::json!({ "k": s }),
            other => panic!(
                "{}: a sensitive attribute of type {other:?}: teach this test bad values of it",
                self.dotted()
            ),
        }
    }
}

fn step_into(nesting: BlockNesting) -> Option<Step> {
    match nesting {
        BlockNesting::Single | BlockNesting::Group => None,
        BlockNesting::List | BlockNesting::Set => Some(Step::First),
        BlockNesting::Map => Some(Step::Key),
    }
}

/// Every sensitive or write-only attribute below `block`, also those nested in one;
/// `computed` collects those only the provider sets.
fn secrets(
    block: &Block,
    at: &[Step],
    inherited: bool,
    out: &mut Vec<Secret>,
    computed: &mut Vec<String>,
) {
    for a in &block.attributes {
        let mut path = at.to_vec();
        path.push(Step::Name(a.name.clone()));
        let sensitive = inherited || a.sensitive || a.write_only;
        match &a.ty {
            AttributeType::Nested(n) => {
                path.extend(step_into(n.nesting.into()));
                secrets(&n.block(), &path, sensitive, out, computed);
            }
            AttributeType::Value(ty) if sensitive => {
                let s = Secret {
                    path,
                    ty: ty.clone(),
                    validated: !a.validators.is_empty(),
                };
                if a.mode == Mode::Computed {
                    computed.push(s.dotted());
                } else {
                    out.push(s);
                }
            }
            AttributeType::Value(_) => {}
        }
    }
    for b in &block.blocks {
        let mut path = at.to_vec();
        path.push(Step::Name(b.type_name.clone()));
        path.extend(step_into(b.nesting));
        secrets(&b.block, &path, inherited, out, computed);
    }
}

/// `root` with `v` at `path`, creating the objects and lists on the way.
fn put(root: &Json, path: &[Step], v: Json) -> Json {
    let mut out = root.clone();
    let mut cur = &mut out;
    for step in path {
        let key = match step {
            Step::Name(n) => n.as_str(),
            Step::Key => "k",
            Step::First => {
                if cur.as_array().is_none_or(|a| a.is_empty()) {
                    *cur = Json::Array(vec![Json::Object(Map::new())]);
                }
                cur = &mut cur[0];
                continue;
            }
        };
        if !cur.is_object() {
            *cur = Json::Object(Map::new());
        }
        cur = &mut cur[key];
    }
    *cur = v;
    out
}

/// A configuration in which `secret`'s enclosing blocks exist and the rest is valid: the first
/// change-matrix configuration of the attribute, or of the nearest block around it.
fn resource_base(type_name: &str, schema: &Schema, secret: &Secret) -> Json {
    let all = cases::generate(type_name, schema);
    let names = secret.names();
    let found = (1..=names.len()).rev().find_map(|n| {
        let key = names[..n].join(".");
        all.iter().find(|c| c.path == key).map(|c| {
            c.steps
                .first()
                .map_or(c.base.clone(), |(_, j, _)| j.clone())
        })
    });
    let base = found.unwrap_or_else(|| {
        panic!(
            "{type_name}.{}: the change matrix has no configuration around it",
            secret.dotted()
        )
    });
    cases::substitute(&base, &tokens())
}

/// Summary, detail and attribute path of every diagnostic, and the paths of the errors.
fn read(diags: &[pb::Diagnostic]) -> (String, Vec<Vec<String>>) {
    let mut text = String::new();
    let mut errors = Vec::new();
    for d in diags {
        let path = d.attribute.as_ref().map(path_names).unwrap_or_default();
        text.push_str(&format!(
            "{} | {} | {}\n",
            d.summary,
            d.detail,
            path.join(".")
        ));
        if d.severity == pb::diagnostic::Severity::Error as i32 {
            errors.push(path.into_iter().filter(|s| !s.starts_with('[')).collect());
        }
    }
    (text, errors)
}

/// What each RPC answered, read for the test.
fn answers(replies: Vec<(&'static str, Vec<pb::Diagnostic>)>) -> Vec<Answer> {
    replies
        .into_iter()
        .map(|(rpc, d)| {
            let (text, errors) = read(&d);
            Answer { rpc, text, errors }
        })
        .collect()
}

/// What one RPC answered for one value.
struct Answer {
    rpc: &'static str,
    text: String,
    errors: Vec<Vec<String>>,
}

async fn validate_provider(client: &mut Client, config: &Value) -> Vec<Answer> {
    let ty = DataplatformProvider.schema().value_type();
    let v = client
        .validate_provider_config(pb::validate_provider_config::Request {
            config: Some(dv(config, &ty)),
        })
        .await
        .expect("ValidateProviderConfig")
        .into_inner();
    let c = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(dv(config, &ty)),
            client_capabilities: None,
        })
        .await
        .expect("ConfigureProvider")
        .into_inner();
    answers(vec![
        ("ValidateProviderConfig", v.diagnostics),
        ("ConfigureProvider", c.diagnostics),
    ])
}

async fn validate_and_plan(
    client: &mut Client,
    type_name: &str,
    schema: &Schema,
    config: &Value,
) -> Vec<Answer> {
    let ty = schema.value_type();
    let v = client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: type_name.into(),
            config: Some(dv(config, &ty)),
            client_capabilities: Some(pb::ClientCapabilities {
                write_only_attributes_allowed: true,
                ..Default::default()
            }),
        })
        .await
        .expect("ValidateResourceConfig")
        .into_inner();
    let proposed = proposed_new(Core::V1_15, &schema.block, &Value::Null, config);
    let p = client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: type_name.into(),
            prior_state: Some(dv(&Value::Null, &ty)),
            proposed_new_state: Some(dv(&proposed, &ty)),
            config: Some(dv(config, &ty)),
            ..Default::default()
        })
        .await
        .expect("PlanResourceChange")
        .into_inner();
    answers(vec![
        ("ValidateResourceConfig", v.diagnostics),
        ("PlanResourceChange", p.diagnostics),
    ])
}

async fn validate_data_source(
    client: &mut Client,
    type_name: &str,
    schema: &Schema,
    config: &Value,
) -> Vec<Answer> {
    let ty = schema.value_type();
    let v = client
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: type_name.into(),
            config: Some(dv(config, &ty)),
        })
        .await
        .expect("ValidateDataResourceConfig")
        .into_inner();
    answers(vec![("ValidateDataResourceConfig", v.diagnostics)])
}

/// Where a configuration comes from.
enum Owner {
    Provider,
    Resource,
    DataSource,
}

#[tokio::test]
async fn no_sensitive_value_appears_in_a_diagnostic_or_a_log_line() {
    // The runtime runs the server on this thread: the subscriber sees all it logs.
    let logs = crate::logging::tests::Buf::default();
    let layer = crate::logging::HclogLayer::new(tracing::Level::TRACE, Box::new(logs.clone()));
    let _logging = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let mut schemas: Vec<(Owner, String, Schema)> = vec![(
        Owner::Provider,
        "provider".into(),
        DataplatformProvider.schema(),
    )];
    for r in DataplatformProvider.resources() {
        schemas.push((Owner::Resource, r.type_name().into(), r.schema()));
    }
    for d in DataplatformProvider.data_sources() {
        schemas.push((Owner::DataSource, d.type_name().into(), d.schema()));
    }

    let (mut unconfigured, _channel, _stop, _done) = serve_in_process(DataplatformProvider).await;
    let mut configured = provider().await;
    let mut failures = Vec::new();
    let mut driven = Vec::new();
    let mut computed = Vec::new();
    for (owner, type_name, schema) in &schemas {
        let mut found = Vec::new();
        let mut only_computed = Vec::new();
        secrets(&schema.block, &[], false, &mut found, &mut only_computed);
        computed.extend(only_computed.iter().map(|p| format!("{type_name}.{p}")));
        for secret in &found {
            let at = format!("{type_name}.{}", secret.dotted());
            driven.push(at.clone());
            let base = match owner {
                Owner::Resource => resource_base(type_name, schema, secret),
                Owner::Provider => serde_json::json!({"region": "eu-central-1"}),
                Owner::DataSource => serde_json::json!({}),
            };
            let mut refused = false;
            for (marker, value, must_refuse) in bad_values() {
                let json = put(&base, &secret.path, secret.json(&value));
                let config = cases::config_value(&schema.block, &json);
                let answers = match owner {
                    Owner::Provider => validate_provider(&mut unconfigured, &config).await,
                    Owner::Resource => {
                        validate_and_plan(&mut configured, type_name, schema, &config).await
                    }
                    Owner::DataSource => {
                        validate_data_source(&mut configured, type_name, schema, &config).await
                    }
                };
                let shown: String = format!("{value:?}").chars().take(72).collect();
                for a in &answers {
                    let lower = a.text.to_lowercase();
                    if lower.contains(MARK)
                        || marker
                            .as_ref()
                            .is_some_and(|m| lower.contains(&m.to_lowercase()))
                    {
                        failures.push(format!("{at} = {shown}: {} echoed it:\n{}", a.rpc, a.text));
                    }
                    // The server's last guard replaces what a check quotes: none may need it.
                    if a.text.contains(REDACTED) {
                        failures.push(format!(
                            "{at} = {shown}: {} quoted it (the redaction caught it):\n{}",
                            a.rpc, a.text
                        ));
                    }
                    let here = a.errors.iter().any(|p| p.starts_with(&secret.names()));
                    refused |= here;
                    let validating = a.rpc.starts_with("Validate");
                    if validating && must_refuse && secret.validated && !here {
                        failures.push(format!(
                            "{at} = {shown}: {} did not refuse it:\n{}",
                            a.rpc, a.text
                        ));
                    }
                }
            }
            if !refused {
                failures.push(format!("{at}: no bad value was refused"));
            }
        }
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().expect("logs")).to_string();
    assert!(
        logged.contains("configuring provider"),
        "the provider's logs were not captured: {logged}"
    );
    if logged.to_lowercase().contains(MARK) {
        failures.push(format!("a log line holds a secret:\n{logged}"));
    }
    for expected in [
        "provider.assume_role.external_id",
        "provider.kubernetes.token",
        "dataplatform_bi_service.database.password",
        "dataplatform_bi_service.database.password_wo",
        "dataplatform_bi_service.secrets.secret_key",
        "dataplatform_bi_service.secrets.cookie_secret",
        "dataplatform_bi_service.secrets.redis_url",
    ] {
        assert!(
            driven.iter().any(|d| d == expected),
            "{expected} was not found by the schema walk: {driven:?}"
        );
    }
    eprintln!(
        "{} sensitive attributes driven, {} bad values each; computed only: {computed:?}",
        driven.len(),
        bad_values().len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n----\n")
    );
}
