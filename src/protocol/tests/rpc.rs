use std::time::Duration;

use super::fixture::{dv, path_names, start, thing, thing_schema, undv, Harness};
use crate::protocol::generated::plugin::grpc_controller_client::GrpcControllerClient;
use crate::protocol::generated::tfplugin6 as pb;
use crate::value::{Type, Value};

fn errors(d: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    d.iter()
        .filter(|x| x.severity == pb::diagnostic::Severity::Error as i32)
        .collect()
}

fn ty() -> Type {
    thing_schema().value_type()
}

async fn plan(
    h: &mut Harness,
    type_name: &str,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> pb::plan_resource_change::Response {
    let ty = ty_of(type_name);
    h.client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: type_name.into(),
            prior_state: Some(dv(prior, &ty)),
            proposed_new_state: Some(dv(proposed, &ty)),
            config: Some(dv(config, &ty)),
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner()
}

async fn apply(
    h: &mut Harness,
    type_name: &str,
    prior: &Value,
    planned: &Value,
    config: &Value,
) -> pb::apply_resource_change::Response {
    let ty = ty_of(type_name);
    h.client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: type_name.into(),
            prior_state: Some(dv(prior, &ty)),
            planned_state: Some(dv(planned, &ty)),
            config: Some(dv(config, &ty)),
            ..Default::default()
        })
        .await
        .expect("apply")
        .into_inner()
}

fn ty_of(type_name: &str) -> Type {
    match type_name {
        "test_thing" => ty(),
        _ => Type::object(vec![("id", Type::String), ("name", Type::String)]),
    }
}

#[tokio::test]
async fn schema_and_metadata_describe_everything() {
    let mut h = start().await;
    let s = h
        .client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(s.diagnostics.is_empty());
    let caps = s.server_capabilities.unwrap();
    assert!(caps.plan_destroy && caps.get_provider_schema_optional);
    let thing = &s.resource_schemas["test_thing"];
    assert_eq!(thing.version, 1);
    let block = thing.block.as_ref().unwrap();
    let attr = |n: &str| {
        block
            .attributes
            .iter()
            .find(|a| a.name == n)
            .unwrap()
            .clone()
    };
    assert!(attr("name").required && !attr("name").optional);
    assert!(attr("id").computed && !attr("id").optional);
    assert!(attr("tier").optional && attr("tier").computed);
    assert!(attr("password").sensitive);
    assert!(attr("token_wo").write_only);
    assert!(attr("old").deprecated);
    assert_eq!(attr("name").r#type, b"\"string\"");
    assert_eq!(attr("labels").r#type, b"[\"map\",\"string\"]");
    assert!(attr("placement").nested_type.is_some());
    assert_eq!(
        attr("name").description_kind,
        pb::StringKind::Markdown as i32
    );
    let rule = block
        .block_types
        .iter()
        .find(|b| b.type_name == "rule")
        .unwrap();
    assert_eq!(
        rule.nesting,
        pb::schema::nested_block::NestingMode::List as i32
    );
    assert_eq!(rule.max_items, 5);
    let timeouts = block
        .block_types
        .iter()
        .find(|b| b.type_name == "timeouts")
        .unwrap();
    assert_eq!(
        timeouts.nesting,
        pb::schema::nested_block::NestingMode::Single as i32
    );
    assert!(s.data_source_schemas.contains_key("test_echo"));

    let m = h
        .client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = m.resources.iter().map(|r| r.type_name.as_str()).collect();
    assert_eq!(
        names,
        vec!["test_nesting", "test_panicky", "test_slow", "test_thing"]
    );
    assert_eq!(m.data_sources[0].type_name, "test_echo");
    let ids = h
        .client
        .get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(ids.identity_schemas.is_empty() && ids.diagnostics.is_empty());
}

#[tokio::test]
async fn validation_points_at_the_attribute() {
    let mut h = start().await;
    let config = thing(vec![
        ("name", Value::string("a")),
        ("size", Value::number(11i64)),
        ("old", Value::string("x")),
        (
            "rule",
            Value::list(vec![
                Value::object(vec![
                    ("port", Value::number(80i64)),
                    ("protocol", Value::Null),
                ]),
                Value::object(vec![
                    ("port", Value::number(70000i64)),
                    ("protocol", Value::Null),
                ]),
            ]),
        ),
    ]);
    let r = h
        .client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_thing".into(),
            config: Some(dv(&config, &ty())),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    let errs = errors(&r.diagnostics);
    let paths: Vec<Vec<String>> = errs
        .iter()
        .map(|d| path_names(d.attribute.as_ref().unwrap()))
        .collect();
    assert!(paths.contains(&vec!["size".to_string()]), "{paths:?}");
    assert!(
        paths.contains(&vec![
            "rule".to_string(),
            "[1]".to_string(),
            "port".to_string()
        ]),
        "{paths:?}"
    );
    assert_eq!(errs.len(), 2);
    let warn = r
        .diagnostics
        .iter()
        .find(|d| d.severity == pb::diagnostic::Severity::Warning as i32)
        .unwrap();
    assert_eq!(path_names(warn.attribute.as_ref().unwrap()), vec!["old"]);

    // Unknown values are not validated yet; they are checked when known.
    let config = thing(vec![("name", Value::string("a")), ("size", Value::Unknown)]);
    let r = h
        .client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_thing".into(),
            config: Some(dv(&config, &ty())),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);

    // Write-only attributes need a client that supports them.
    let config = thing(vec![
        ("name", Value::string("a")),
        ("token_wo", Value::string("s3cr3t")),
    ]);
    for (allowed, expect_error) in [(false, true), (true, false)] {
        let r = h
            .client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "test_thing".into(),
                config: Some(dv(&config, &ty())),
                client_capabilities: Some(pb::ClientCapabilities {
                    write_only_attributes_allowed: allowed,
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(!errors(&r.diagnostics).is_empty(), expect_error);
        assert!(
            !format!("{:?}", r.diagnostics).contains("s3cr3t"),
            "secret echoed"
        );
    }

    // Provider config validators run too.
    let pty = Type::object(vec![("region", Type::String)]);
    let r = h
        .client
        .validate_provider_config(pb::validate_provider_config::Request {
            config: Some(dv(
                &Value::object(vec![("region", Value::string("mars"))]),
                &pty,
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        path_names(errors(&r.diagnostics)[0].attribute.as_ref().unwrap()),
        vec!["region"]
    );
}

#[tokio::test]
async fn undecodable_values_are_diagnostics_not_transport_errors() {
    let mut h = start().await;
    for bytes in [
        vec![0xc1u8],
        vec![0x81, 0xa4, b'n', b'a', b'm', b'e', 0x01],
        vec![0x93],
    ] {
        let r = h
            .client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "test_thing".into(),
                config: Some(pb::DynamicValue {
                    msgpack: bytes,
                    json: Vec::new(),
                }),
                client_capabilities: None,
            })
            .await
            .expect("a response, not a gRPC error")
            .into_inner();
        assert_eq!(errors(&r.diagnostics).len(), 1, "{:?}", r.diagnostics);
    }
    let r = h
        .client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "test_nope".into(),
            config: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics)[0]
        .summary
        .contains("Unknown resource type"));
}

#[tokio::test]
async fn create_plan_apply_read_update_replace_destroy() {
    let mut h = start().await;
    h.configure("eu").await;
    // Core's proposed state on create: config with computed attributes null.
    let config = thing(vec![
        ("name", Value::string("alpha")),
        ("size", Value::number(3i64)),
        ("password", Value::string("hunter2")),
        ("token_wo", Value::string("only-in-config")),
        (
            "rule",
            Value::list(vec![Value::object(vec![
                ("port", Value::number(443i64)),
                ("protocol", Value::Null),
            ])]),
        ),
    ]);
    let p = plan(&mut h, "test_thing", &Value::Null, &config, &config).await;
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert!(p.requires_replace.is_empty());
    let planned = undv(p.planned_state.as_ref(), &ty());
    assert!(planned.get_attr("id").unwrap().is_unknown());
    assert!(planned.get_attr("status").unwrap().is_unknown());
    assert_eq!(
        planned.get_attr("tier"),
        Some(&Value::string("standard")),
        "default applied"
    );
    assert_eq!(planned.get_attr("name"), Some(&Value::string("alpha")));
    assert_eq!(
        planned.get_attr("token_wo"),
        Some(&Value::Null),
        "write-only never planned"
    );
    let rule0 = &planned.get_attr("rule").unwrap().as_list().unwrap()[0];
    assert_eq!(
        rule0.get_attr("protocol"),
        Some(&Value::string("tcp")),
        "nested default"
    );
    assert_eq!(
        planned.get_attr("placement").unwrap().get_attr("zone"),
        Some(&Value::string("zone-alpha")),
        "resource plan change: known at plan time"
    );

    let a = apply(&mut h, "test_thing", &Value::Null, &planned, &config).await;
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    let state = undv(a.new_state.as_ref(), &ty());
    assert_eq!(state.get_attr("id"), Some(&Value::string("thing-0")));
    assert_eq!(state.get_attr("token_wo"), Some(&Value::Null));
    assert!(
        h.world
            .objects
            .lock()
            .unwrap()
            .contains_key("thing-0-token"),
        "write-only value reached create"
    );

    // Read sees the object.
    let r = h
        .client
        .read_resource(pb::read_resource::Request {
            type_name: "test_thing".into(),
            current_state: Some(dv(&state, &ty())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undv(r.new_state.as_ref(), &ty()), state);

    // No change: the plan is the prior state, nothing unknown.
    let p = plan(
        &mut h,
        "test_thing",
        &state,
        &merge(&state, &config),
        &config,
    )
    .await;
    assert_eq!(undv(p.planned_state.as_ref(), &ty()), state);

    // In-place change keeps the id (use-state-for-unknown), status becomes unknown.
    let config2 = set(&config, "size", Value::number(4i64));
    let p = plan(
        &mut h,
        "test_thing",
        &state,
        &merge(&state, &config2),
        &config2,
    )
    .await;
    assert!(p.requires_replace.is_empty());
    let planned2 = undv(p.planned_state.as_ref(), &ty());
    assert_eq!(planned2.get_attr("id"), Some(&Value::string("thing-0")));
    assert!(planned2.get_attr("status").unwrap().is_unknown());
    let a = apply(&mut h, "test_thing", &state, &planned2, &config2).await;
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
    let state2 = undv(a.new_state.as_ref(), &ty());
    assert_eq!(state2.get_attr("size"), Some(&Value::number(4i64)));

    // Renaming requires replacement, reported at the attribute path.
    let config3 = set(&config2, "name", Value::string("beta"));
    let p = plan(
        &mut h,
        "test_thing",
        &state2,
        &merge(&state2, &config3),
        &config3,
    )
    .await;
    let paths: Vec<_> = p.requires_replace.iter().map(path_names).collect();
    assert_eq!(paths, vec![vec!["name".to_string()]]);

    // Destroy: planned null (plan_destroy), then apply deletes.
    let p = plan(&mut h, "test_thing", &state2, &Value::Null, &Value::Null).await;
    assert_eq!(undv(p.planned_state.as_ref(), &ty()), Value::Null);
    let a = apply(&mut h, "test_thing", &state2, &Value::Null, &Value::Null).await;
    assert!(a.diagnostics.is_empty());
    assert_eq!(undv(a.new_state.as_ref(), &ty()), Value::Null);
    assert!(!h.world.objects.lock().unwrap().contains_key("thing-0"));

    // Gone: read returns null, core drops it from state.
    let r = h
        .client
        .read_resource(pb::read_resource::Request {
            type_name: "test_thing".into(),
            current_state: Some(dv(&state2, &ty())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undv(r.new_state.as_ref(), &ty()), Value::Null);
}

fn set(v: &Value, k: &str, x: Value) -> Value {
    let mut m = v.as_map().cloned().unwrap();
    m.insert(k.into(), x);
    Value::object(m)
}

/// Core's proposed new state: config values, prior values for computed attributes left null.
fn merge(prior: &Value, config: &Value) -> Value {
    let mut m = config.as_map().cloned().unwrap();
    for k in ["id", "status", "placement", "tier"] {
        if m.get(k).is_none_or(Value::is_null) {
            m.insert(k.into(), prior.get_attr(k).cloned().unwrap_or(Value::Null));
        }
    }
    m.insert(
        "rule".into(),
        prior
            .get_attr("rule")
            .cloned()
            .unwrap_or(Value::list(vec![])),
    );
    Value::object(m)
}

#[tokio::test]
async fn import_then_upgrade_state() {
    let mut h = start().await;
    h.configure("eu").await;
    let r = h
        .client
        .import_resource_state(pb::import_resource_state::Request {
            type_name: "test_thing".into(),
            id: "thing-42".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty());
    let imported = undv(r.imported_resources[0].state.as_ref(), &ty());
    assert_eq!(imported.get_attr("id"), Some(&Value::string("thing-42")));
    assert_eq!(
        imported.get_attr("name"),
        Some(&Value::Null),
        "every attribute present, null"
    );
    assert_eq!(
        imported.get_attr("rule"),
        Some(&Value::list(vec![])),
        "absent list block is empty"
    );

    // Version 0 state called the name "title"; an attribute since removed is ignored.
    let v0 = br#"{"id":"thing-1","title":"old-name","size":2,"removed_later":true}"#;
    let r = h
        .client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: v0.to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let up = undv(r.upgraded_state.as_ref(), &ty());
    assert_eq!(up.get_attr("name"), Some(&Value::string("old-name")));
    assert_eq!(up.get_attr("size"), Some(&Value::number(2i64)));
    assert_eq!(up.get_attr("status"), Some(&Value::Null));

    // A state from a newer provider is refused with a clear message.
    let r = h
        .client
        .upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version: 7,
            raw_state: Some(pb::RawState {
                json: b"{}".to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics)[0].detail.contains("newer"));
}

#[tokio::test]
async fn panics_become_error_diagnostics() {
    let mut h = start().await;
    h.configure("eu").await;
    let sty = ty_of("test_panicky");
    let config = Value::object(vec![("id", Value::Null), ("name", Value::string("plan"))]);
    let p = plan(&mut h, "test_panicky", &Value::Null, &config, &config).await;
    assert!(errors(&p.diagnostics)[0].detail.contains("boom in plan"));
    let config = Value::object(vec![("id", Value::Null), ("name", Value::string("x"))]);
    let planned = Value::object(vec![("id", Value::Unknown), ("name", Value::string("x"))]);
    let a = apply(&mut h, "test_panicky", &Value::Null, &planned, &config).await;
    let e = errors(&a.diagnostics);
    assert_eq!(e[0].summary, "Provider internal error");
    assert!(e[0].detail.contains("boom in create"));
    assert_eq!(
        undv(a.new_state.as_ref(), &sty),
        Value::Null,
        "nothing recorded"
    );
    // The server keeps serving after a panic.
    let s = h
        .client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await;
    assert!(s.is_ok());
}

#[tokio::test]
async fn stop_provider_cancels_operations_in_flight() {
    let mut h = start().await;
    h.configure("eu").await;
    let sty = ty_of("test_slow");
    let config = Value::object(vec![("id", Value::Null), ("name", Value::string("s"))]);
    let planned = Value::object(vec![("id", Value::Unknown), ("name", Value::string("s"))]);
    let mut client = h.client.clone();
    let (c2, p2, s2) = (config.clone(), planned.clone(), sty.clone());
    let in_flight = tokio::spawn(async move {
        client
            .apply_resource_change(pb::apply_resource_change::Request {
                type_name: "test_slow".into(),
                prior_state: Some(dv(&Value::Null, &s2)),
                planned_state: Some(dv(&p2, &s2)),
                config: Some(dv(&c2, &s2)),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let stop = h
        .client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(stop.error.is_empty());
    let resp = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("cancelled promptly")
        .unwrap()
        .unwrap()
        .into_inner();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "cancel took {:?}",
        started.elapsed()
    );
    assert!(errors(&resp.diagnostics)[0].detail.contains("cancelled"));
    // The state tells the truth: what was created is recorded.
    let state = undv(resp.new_state.as_ref(), &sty);
    assert_eq!(state.get_attr("id"), Some(&Value::string("slow-1")));
    // Later operations run normally.
    let ok = apply(&mut h, "test_slow", &state, &Value::Null, &Value::Null).await;
    assert!(ok.diagnostics.is_empty());
}

#[tokio::test]
async fn data_sources_read_with_provider_data() {
    let mut h = start().await;
    h.configure("us").await;
    let dty = Type::object(vec![("input", Type::String), ("output", Type::String)]);
    let r = h
        .client
        .read_data_source(pb::read_data_source::Request {
            type_name: "test_echo".into(),
            config: Some(dv(
                &Value::object(vec![
                    ("input", Value::string("hi")),
                    ("output", Value::Null),
                ]),
                &dty,
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty());
    assert_eq!(
        undv(r.state.as_ref(), &dty).get_attr("output"),
        Some(&Value::string("hi@us"))
    );
}

#[tokio::test]
async fn features_we_do_not_offer_answer_with_diagnostics() {
    let mut h = start().await;
    let f = h
        .client
        .get_functions(pb::get_functions::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(f.functions.is_empty() && f.diagnostics.is_empty());
    let c = h
        .client
        .call_function(pb::call_function::Request {
            name: "x".into(),
            arguments: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(c.error.is_some());
    let e = h
        .client
        .open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: "e".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&e.diagnostics).len(), 1);
    let m = h
        .client
        .move_resource_state(pb::move_resource_state::Request {
            target_type_name: "test_thing".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&m.diagnostics).len(), 1);
    let mut list = h
        .client
        .list_resource(pb::list_resource::Request {
            type_name: "l".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ev = list.message().await.unwrap().unwrap();
    assert_eq!(errors(&ev.diagnostic).len(), 1);
    let s = h
        .client
        .lock_state(pb::lock_state::Request {
            type_name: "s".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&s.diagnostics).len(), 1);
}

#[tokio::test]
async fn large_states_pass_the_message_limit() {
    let mut h = start().await;
    h.configure("eu").await;
    // ~12 MiB of labels: over tonic's 4 MiB default.
    let labels: Vec<(String, Value)> = (0..12_000)
        .map(|i| (format!("k{i:05}"), Value::string("v".repeat(1024))))
        .collect();
    let config = thing(vec![
        ("name", Value::string("big")),
        ("labels", Value::map(labels)),
    ]);
    let p = plan(&mut h, "test_thing", &Value::Null, &config, &config).await;
    assert!(p.diagnostics.is_empty());
    let planned = undv(p.planned_state.as_ref(), &ty());
    assert_eq!(
        planned.get_attr("labels").unwrap().as_map().unwrap().len(),
        12_000
    );
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let h = start().await;
    let mut ctl = GrpcControllerClient::new(h.channel.clone());
    ctl.shutdown(crate::protocol::generated::plugin::Empty {})
        .await
        .expect("shutdown answered");
    let result = tokio::time::timeout(Duration::from_secs(3), h.done)
        .await
        .expect("server ended promptly");
    assert!(result.unwrap().is_ok());
    let _ = h.stop;
}
