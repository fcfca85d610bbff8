//! The change matrix at the RPC level: every case of `acceptance/change_matrix` (every optional
//! attribute and block of every resource added, changed, removed, set to its default and left
//! out) planned through PlanResourceChange with the proposed state Terraform 1.0.x and today's
//! Terraform send ([`core_model`]), the answer checked as core checks it, applied, and planned
//! again, which must show no change. Then what core sends for absent, empty and unknown
//! blocks of every nesting mode, against the `test_nesting` resource.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tonic::transport::Channel;

use super::core_model::{applied, assert_plan_valid, proposed_new, Core, CORES};
use super::fixture::{configure, dv, nesting_schema, serve_in_process, start, undv};
use crate::framework::schema::{Block, Schema};
use crate::framework::Provider;
use crate::protocol::generated::tfplugin6 as pb;
use crate::provider::DataplatformProvider;
use crate::value::{Known, Type, Value};

use crate as dp;

#[path = "../../../acceptance/change_matrix/cases.rs"]
pub(super) mod cases;

use cases::{Expect, PHASES};

pub(super) type Client = pb::provider_client::ProviderClient<Channel>;

fn errors(d: &[pb::Diagnostic]) -> Vec<String> {
    d.iter()
        .filter(|x| x.severity == pb::diagnostic::Severity::Error as i32)
        .map(|x| format!("{}: {}", x.summary, x.detail))
        .collect()
}

/// PlanResourceChange as `core` calls it: with its proposed new state, and once more from a
/// null prior when the provider asks for replacement. Returns the planned state and whether it
/// replaces; `Err` with core's complaints.
async fn plan(
    client: &mut Client,
    core: Core,
    type_name: &str,
    schema: &Schema,
    prior: &Value,
    config: &Value,
) -> Result<(Value, bool), Vec<String>> {
    let ty = schema.value_type();
    let once = |client: &mut Client, prior: Value| {
        let proposed = proposed_new(core, &schema.block, &prior, config);
        let req = pb::plan_resource_change::Request {
            type_name: type_name.into(),
            prior_state: Some(dv(&prior, &ty)),
            proposed_new_state: Some(dv(&proposed, &ty)),
            config: Some(dv(config, &ty)),
            ..Default::default()
        };
        let mut client = client.clone();
        let ty = ty.clone();
        async move {
            let resp = client
                .plan_resource_change(req)
                .await
                .expect("PlanResourceChange")
                .into_inner();
            let errs = errors(&resp.diagnostics);
            if !errs.is_empty() {
                return Err(errs);
            }
            let planned = undv(resp.planned_state.as_ref(), &ty);
            let errs = assert_plan_valid(&schema.block, &prior, config, &planned);
            if !errs.is_empty() {
                return Err(errs
                    .into_iter()
                    .map(|e| format!("Provider produced invalid plan: {e}"))
                    .collect());
            }
            Ok((planned, !resp.requires_replace.is_empty()))
        }
    };
    let (planned, replace) = once(client, prior.clone()).await?;
    if replace && !prior.is_null() {
        let (planned, _) = once(client, Value::Null).await?;
        return Ok((planned, true));
    }
    Ok((planned, false))
}

async fn validate(client: &mut Client, type_name: &str, ty: &Type, config: &Value) -> Vec<String> {
    let resp = client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: type_name.into(),
            config: Some(dv(config, ty)),
            client_capabilities: Some(pb::ClientCapabilities {
                write_only_attributes_allowed: true,
                ..Default::default()
            }),
        })
        .await
        .expect("ValidateResourceConfig")
        .into_inner();
    errors(&resp.diagnostics)
}

/// The real provider, configured as the examples configure it.
pub(super) async fn provider() -> Client {
    let (mut client, _channel, _stop, _done) = serve_in_process(DataplatformProvider).await;
    let schema = DataplatformProvider.schema();
    let config = cases::config_value(
        &schema.block,
        &serde_json::json!({"region": "eu-central-1", "cluster_name": "analytics"}),
    );
    configure(&mut client, &schema.value_type(), &config).await;
    client
}

pub(super) fn tokens() -> BTreeMap<String, Json> {
    [
        (
            "@node_role_arn@",
            Json::from("arn:aws:iam::123456789012:role/analytics-nodes"),
        ),
        (
            "@other_role_arn@",
            Json::from("arn:aws:iam::123456789012:role/matrix-nodes"),
        ),
        (
            "@subnet_ids@",
            serde_json::json!(["subnet-0a", "subnet-0b", "subnet-0c"]),
        ),
        ("@other_subnet_ids@", serde_json::json!(["subnet-0a"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The state an apply of `planned` leaves. Values known only after apply are filled in, then
/// made consistent with what the provider derives from them (an `id` from a generated `name`)
/// by planning again and taking the values it now knows.
async fn settle(
    client: &mut Client,
    core: Core,
    type_name: &str,
    schema: &Schema,
    planned: &Value,
    config: &Value,
) -> Value {
    let mut state = applied(&schema.block, planned);
    for _ in 0..3 {
        let Ok((again, _)) = plan(client, core, type_name, schema, &state, config).await else {
            return state;
        };
        let (Some(Known::Object(was)), Some(Known::Object(now))) =
            (planned.as_known(), again.as_known())
        else {
            return state;
        };
        let mut next = state.clone();
        for (k, v) in now {
            if was.get(k).is_some_and(Value::is_unknown) && v.is_known() {
                if let Some(slot) = next.get_attr_mut(k) {
                    *slot = v.clone();
                }
            }
        }
        if next == state {
            break;
        }
        state = next;
    }
    state
}

/// One resource's matrix on one core version; returns the failures and the number of plans.
async fn run_matrix(
    client: &mut Client,
    core: Core,
    type_name: &str,
    schema: &Schema,
) -> (Vec<String>, usize) {
    let ty = schema.value_type();
    let tokens = tokens();
    let mut failures = Vec::new();
    let mut plans = 0;
    for case in cases::generate(type_name, schema) {
        if case.write_only && core == Core::V1_0 {
            continue;
        }
        let at = |what: &str| format!("{type_name}.{} ({core:?}, {what})", case.path);
        let config_of =
            |j: &Json| cases::config_value(&schema.block, &cases::substitute(j, &tokens));
        let base = config_of(&case.base);
        let errs = validate(client, type_name, &ty, &base).await;
        if !errs.is_empty() {
            failures.push(format!("{}: invalid base: {errs:?}", at("validate")));
            continue;
        }
        let mut state = match plan(client, core, type_name, schema, &Value::Null, &base).await {
            Ok((planned, _)) => settle(client, core, type_name, schema, &planned, &base).await,
            Err(e) => {
                failures.push(format!("{}: {e:?}", at("create")));
                continue;
            }
        };
        plans += 1;
        for phase in PHASES {
            let (json, expect) = case.at(phase);
            let config = config_of(&json);
            let what = format!("{phase:?}");
            let errs = validate(client, type_name, &ty, &config).await;
            if !errs.is_empty() {
                failures.push(format!(
                    "{}: invalid configuration {json}: {errs:?}",
                    at(&what)
                ));
                break;
            }
            let (planned, replaced) =
                match plan(client, core, type_name, schema, &state, &config).await {
                    Ok(p) => p,
                    Err(e) => {
                        failures.push(format!("{}: {e:?}", at(&what)));
                        break;
                    }
                };
            plans += 1;
            let changed = planned != state || replaced;
            match expect {
                Expect::NoOp if changed => {
                    failures.push(format!("{}: planned a change, expected none", at(&what)))
                }
                Expect::Change if !changed => {
                    failures.push(format!("{}: planned no change", at(&what)))
                }
                _ => {}
            }
            let must = cases::must_replace_value(&schema.block, &state, &planned);
            if replaced != must {
                failures.push(format!(
                    "{}: {} but the attributes that force replacement {}",
                    at(&what),
                    if replaced {
                        "replaces"
                    } else {
                        "does not replace"
                    },
                    if must { "changed" } else { "did not change" }
                ));
            }
            state = settle(client, core, type_name, schema, &planned, &config).await;
            // The second plan: nothing to do.
            match plan(client, core, type_name, schema, &state, &config).await {
                Ok((again, replaced)) if again == state && !replaced => {}
                Ok((again, replaced)) => failures.push(format!(
                    "{}: the second plan is not empty (replace: {replaced}): {}",
                    at(&what),
                    diff(&state, &again)
                )),
                Err(e) => failures.push(format!("{}: second plan: {e:?}", at(&what))),
            }
            plans += 1;
        }
    }
    (failures, plans)
}

/// The top-level attributes that differ.
fn diff(a: &Value, b: &Value) -> String {
    let (Some(x), Some(y)) = (a.as_known(), b.as_known()) else {
        return format!("{a:?} -> {b:?}");
    };
    match (x, y) {
        (Known::Object(x), Known::Object(y)) => x
            .iter()
            .filter(|(k, v)| y.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: {v:?} -> {:?}", y.get(k)))
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("{a:?} -> {b:?}"),
    }
}

#[tokio::test]
async fn every_attribute_and_block_of_every_resource_on_both_core_versions() {
    let mut client = provider().await;
    let mut failures = Vec::new();
    let mut total = 0;
    for (type_name, schema) in cases::schemas() {
        for core in CORES {
            let (f, n) = run_matrix(&mut client, core, type_name, &schema).await;
            failures.extend(f);
            total += n;
        }
    }
    eprintln!("{total} plans");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Absent, empty, one element and unknown (`dynamic` over an unknown collection) for blocks
/// of every nesting mode, from every prior, on both core versions: every plan passes core's
/// checks and a second plan after apply is empty.
#[tokio::test]
async fn absent_empty_and_unknown_blocks_of_every_nesting_mode() {
    let mut h = start().await;
    h.configure("eu").await;
    let schema = nesting_schema();
    let block: &Block = &schema.block;
    let element = |v: &str| serde_json::json!({"value": v, "inner": {"value": v}});
    let shapes: Vec<(&str, Option<Json>)> = vec![
        ("absent", None),
        ("empty", Some(serde_json::json!({}))),
        ("one", Some(element("a"))),
        ("other", Some(element("b"))),
    ];
    let mut failures = Vec::new();
    for core in CORES {
        for nb in &block.blocks {
            for (from, prior_shape) in &shapes {
                for (to, shape) in &shapes {
                    let config_for = |shape: &Option<Json>| {
                        let mut body = serde_json::json!({"name": "n"});
                        if let Some(s) = shape {
                            body[&nb.type_name] = match nb.nesting {
                                crate::framework::BlockNesting::List
                                | crate::framework::BlockNesting::Set => {
                                    serde_json::json!([s])
                                }
                                crate::framework::BlockNesting::Map => serde_json::json!({"k": s}),
                                _ => s.clone(),
                            };
                        }
                        cases::config_value(block, &body)
                    };
                    let at = format!("{core:?} {} {from} -> {to}", nb.type_name);
                    let prior = match plan(
                        &mut h.client,
                        core,
                        "test_nesting",
                        &schema,
                        &Value::Null,
                        &config_for(prior_shape),
                    )
                    .await
                    {
                        Ok((p, _)) => applied(block, &p),
                        Err(e) => {
                            failures.push(format!("{at}: create: {e:?}"));
                            continue;
                        }
                    };
                    let config = config_for(shape);
                    match plan(
                        &mut h.client,
                        core,
                        "test_nesting",
                        &schema,
                        &prior,
                        &config,
                    )
                    .await
                    {
                        Ok((planned, _)) => {
                            let state = applied(block, &planned);
                            match plan(
                                &mut h.client,
                                core,
                                "test_nesting",
                                &schema,
                                &state,
                                &config,
                            )
                            .await
                            {
                                Ok((again, _)) if again == state => {}
                                Ok((again, _)) => failures
                                    .push(format!("{at}: second plan: {}", diff(&state, &again))),
                                Err(e) => failures.push(format!("{at}: second plan: {e:?}")),
                            }
                        }
                        Err(e) => failures.push(format!("{at}: {e:?}")),
                    }
                    // The block unknown in the configuration.
                    let mut unknown = config_for(shape);
                    if let Some(slot) = unknown.get_attr_mut(&nb.type_name) {
                        *slot = Value::Unknown;
                    }
                    if nb.nesting != crate::framework::BlockNesting::Group {
                        if let Err(e) = plan(
                            &mut h.client,
                            core,
                            "test_nesting",
                            &schema,
                            &prior,
                            &unknown,
                        )
                        .await
                        {
                            failures.push(format!("{at} (unknown): {e:?}"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
