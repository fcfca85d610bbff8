use serde_json::{json, Value as Json};

use super::*;
use crate::framework::attr::set;
use crate::framework::ObjectBuilder;
use crate::value::AttributePath;

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::object(pairs)
}

/// The seed's Metabase: image, external MySQL on RDS, internal ALB ingress.
fn seed_metabase() -> Value {
    let block = &schema::schema().block;
    ObjectBuilder::new(block)
        .set("name", Value::string("metabase"))
        .set("namespace", Value::string("metabase"))
        .set("create_namespace", Value::bool(true))
        .set("engine", Value::string("metabase"))
        .set("replicas", Value::number(1i64))
        .set("wait_for_rollout", Value::bool(true))
        .set(
            "image",
            obj(vec![
                (
                    "repository",
                    Value::string("registry.example.com/analytics/metabase"),
                ),
                ("tag", Value::string("0.40.1-joom-1")),
                ("pull_policy", Value::string("IfNotPresent")),
            ]),
        )
        .set(
            "database",
            obj(vec![
                ("type", Value::string("mysql")),
                (
                    "host",
                    Value::string("metabase.abc.eu-central-1.rds.amazonaws.com"),
                ),
                ("port", Value::number(3306i64)),
                ("name", Value::string("metabase")),
                ("username", Value::string("metabase")),
                ("password", Value::string("s3cr3t-p@ss")),
                ("password_wo", Value::Null),
                ("password_wo_version", Value::Null),
            ]),
        )
        .set(
            "ingress",
            obj(vec![
                ("host", Value::string("metabase.analytics.example.com")),
                ("path", Value::string("/*")),
                ("class", Value::string("alb")),
                ("scheme", Value::string("internal")),
                ("group_name", Value::string("analytics")),
                ("target_type", Value::string("ip")),
                (
                    "certificate_arn",
                    Value::string("arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d"),
                ),
                ("ssl_redirect", Value::bool(true)),
                ("inbound_cidrs", Value::Null),
                ("health_check_path", Value::string("/api/health")),
                ("wafv2_acl_arn", Value::Null),
                ("tls_secret_name", Value::Null),
                ("wait_for_load_balancer", Value::Null),
                ("annotations", Value::Null),
            ]),
        )
        .build()
}

fn find<'a>(objects: &'a [Json], kind: &str) -> &'a Json {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or(&Json::Null)
}

fn env_of(d: &Json) -> Vec<Json> {
    d.pointer("/spec/template/spec/containers/0/env")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

fn env_value<'a>(env: &'a [Json], name: &str) -> &'a Json {
    env.iter()
        .find(|e| e["name"] == name)
        .unwrap_or(&Json::Null)
}

#[test]
fn the_seed_metabase_renders_every_value_of_its_helm_values() {
    let v = seed_metabase();
    let (spec, objects) = desired(&v, Some("s3cr3t-p@ss"), None).expect("known");
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "Secret",
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "Ingress"
        ]
    );
    let d = find(&objects, "Deployment");
    assert_eq!(
        d.pointer("/spec/template/spec/containers/0/image"),
        Some(&json!(
            "registry.example.com/analytics/metabase:0.40.1-joom-1"
        ))
    );
    let env = env_of(d);
    assert_eq!(env_value(&env, "MB_DB_TYPE")["value"], "mysql");
    assert_eq!(
        env_value(&env, "MB_DB_HOST")["value"],
        "metabase.abc.eu-central-1.rds.amazonaws.com"
    );
    assert_eq!(env_value(&env, "MB_DB_PORT")["value"], "3306");
    assert_eq!(env_value(&env, "MB_DB_DBNAME")["value"], "metabase");
    // Credentials only through the Secret.
    assert_eq!(
        env_value(&env, "MB_DB_PASS")["valueFrom"]["secretKeyRef"]["key"],
        "database-password"
    );
    assert!(!d.to_string().contains("s3cr3t"));
    let probe = d.pointer("/spec/template/spec/containers/0/readinessProbe/httpGet/path");
    assert_eq!(probe, Some(&json!("/api/health")));
    let i = find(&objects, "Ingress");
    let ann = &i["metadata"]["annotations"];
    assert_eq!(i["spec"]["ingressClassName"], "alb");
    assert_eq!(ann["alb.ingress.kubernetes.io/scheme"], "internal");
    assert_eq!(ann["alb.ingress.kubernetes.io/group.name"], "analytics");
    assert_eq!(ann["alb.ingress.kubernetes.io/target-type"], "ip");
    assert_eq!(
        ann["alb.ingress.kubernetes.io/certificate-arn"],
        "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d"
    );
    let rule = &i["spec"]["rules"][0];
    assert_eq!(rule["host"], "metabase.analytics.example.com");
    assert_eq!(rule["http"]["paths"][0]["path"], "/*");
    assert_eq!(
        rule["http"]["paths"][0]["pathType"],
        "ImplementationSpecific"
    );
    assert_eq!(spec.url(), "https://metabase.analytics.example.com/");
    assert_eq!(
        find(&objects, "PodDisruptionBudget")["spec"]["maxUnavailable"],
        1
    );
}

#[test]
fn fingerprints_never_depend_on_secrets() {
    let v = seed_metabase();
    let (_, a) = desired(&v, Some("one password"), None).expect("known");
    let (_, b) = desired(&v, Some("another password"), None).expect("known");
    let (_, none) = desired(&v, None, None).expect("known");
    assert_eq!(fingerprints(&a), fingerprints(&b));
    assert_eq!(fingerprints(&a), fingerprints(&none));
    let secret = find(&a, "Secret");
    assert_ne!(secret, find(&b, "Secret"));
}

#[test]
fn superset_and_redash_get_their_own_wiring() {
    let mut v = seed_metabase();
    set(&mut v, "engine", Value::string("superset"));
    set(&mut v, "image", Value::Null);
    set(
        &mut v,
        "secrets",
        obj(vec![
            ("secret_key", Value::string("0123456789abcdef0123")),
            ("cookie_secret", Value::Null),
            ("redis_url", Value::string("redis://cache:6379/0")),
        ]),
    );
    let (spec, objects) = desired(&v, Some("pw"), None).expect("known");
    assert_eq!(spec.image(), "apache/superset:4.1.2");
    let d = find(&objects, "Deployment");
    let env = env_of(d);
    assert_eq!(env_value(&env, "DATABASE_DIALECT")["value"], "mysql");
    assert_eq!(
        env_value(&env, "SUPERSET_SECRET_KEY")["valueFrom"]["secretKeyRef"]["key"],
        "secret-key"
    );
    assert_eq!(
        d.pointer("/spec/template/spec/containers/0/ports/0/containerPort"),
        Some(&json!(8088))
    );

    set(&mut v, "engine", Value::string("redash"));
    let (_, objects) = desired(&v, Some("p w"), None).expect("known");
    let secret = find(&objects, "Secret");
    let keys: Vec<&String> = secret["data"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert!(keys.iter().any(|k| *k == "database-url"), "{keys:?}");
    let d = find(&objects, "Deployment");
    assert_eq!(
        d.pointer("/spec/template/spec/containers/0/args/0"),
        Some(&json!("server"))
    );
    assert_eq!(
        d.pointer("/spec/template/spec/containers/0/readinessProbe/httpGet/path"),
        Some(&json!("/ping"))
    );
}

#[test]
fn engine_rules_are_checked_with_paths() {
    let mut v = seed_metabase();
    set(&mut v, "engine", Value::string("redash"));
    let mut d = Diagnostics::new();
    checks::check(&v, &mut d);
    let text: Vec<String> = d.iter().map(|x| format!("{x:?}")).collect();
    let all = text.join("\n");
    assert!(all.contains("PostgreSQL"), "{all}");
    assert!(
        all.contains("secret_key") && all.contains("redis_url"),
        "{all}"
    );

    let mut z = seed_metabase();
    set(&mut z, "engine", Value::string("zeppelin"));
    let mut d = Diagnostics::new();
    checks::check(&z, &mut d);
    assert!(format!("{:?}", d.iter().collect::<Vec<_>>()).contains("no application database"));
}

#[test]
fn the_configuration_annotation_restores_everything_but_secrets() {
    let v = seed_metabase();
    let text = config_annotation(&v).expect("annotation");
    assert!(!text.contains("s3cr3t"), "{text}");
    let json: Json = serde_json::from_str(&text).expect("json");
    let restored =
        crate::value::decode_json_value(&json, &schema::schema().value_type()).expect("decodes");
    assert_eq!(restored.get_attr("engine"), v.get_attr("engine"));
    assert_eq!(restored.get_attr("ingress"), v.get_attr("ingress"));
}

fn monitored(engine: &str) -> Value {
    let mut v = seed_metabase();
    set(&mut v, "engine", Value::string(engine));
    set(
        &mut v,
        "monitoring",
        obj(vec![
            ("enabled", Value::bool(true)),
            ("metrics_path", Value::string("/metrics")),
            ("restart_threshold", Value::number(3i64)),
        ]),
    );
    v
}

fn port_names(ports: &Json) -> Vec<&str> {
    ports
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect()
}

/// The scrape target the Prometheus Operator builds: the ServiceMonitor's port names a port
/// of the Service, whose target port names a port of the container, which the engine serves
/// metrics on.
#[test]
fn the_service_monitor_scrapes_a_port_the_engine_serves_metrics_on() {
    for (engine, port, env) in [
        ("metabase", 9191, ("MB_PROMETHEUS_SERVER_PORT", "9191")),
        (
            "zeppelin",
            8080,
            ("ZEPPELIN_METRIC_ENABLE_PROMETHEUS", "true"),
        ),
    ] {
        let v = monitored(engine);
        let (_, objects) = desired(&v, Some("s3cr3t-p@ss"), None).expect("known");
        let sm = find(&objects, "ServiceMonitor");
        let scraped = sm["spec"]["endpoints"][0]["port"].as_str().expect("port");
        let service = find(&objects, "Service");
        let service_port = service["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == scraped)
            .unwrap_or_else(|| panic!("{engine}: Service has no port {scraped}: {service}"));
        let target = service_port["targetPort"].as_str().expect("named target");
        let d = find(&objects, "Deployment");
        let container_ports = &d["spec"]["template"]["spec"]["containers"][0]["ports"];
        let container_port = container_ports
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == target)
            .unwrap_or_else(|| panic!("{engine}: container has no port {target}"));
        assert_eq!(container_port["containerPort"], port, "{engine}");
        assert_eq!(env_value(&env_of(d), env.0)["value"], env.1, "{engine}");
        assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    }
    // Metabase's metrics port is its own, named `metrics`; without monitoring it is not opened.
    let (_, objects) = desired(&monitored("metabase"), Some("p"), None).expect("known");
    assert_eq!(
        port_names(&find(&objects, "Service")["spec"]["ports"]),
        ["http", "metrics"]
    );
    let (_, objects) = desired(&seed_metabase(), Some("p"), None).expect("known");
    let d = find(&objects, "Deployment");
    assert_eq!(
        port_names(&d["spec"]["template"]["spec"]["containers"][0]["ports"]),
        ["http"]
    );
    assert_eq!(
        env_value(&env_of(d), "MB_PROMETHEUS_SERVER_PORT"),
        &Json::Null
    );
}

#[test]
fn engines_without_metrics_get_the_rule_only_and_a_warning() {
    for engine in ["superset", "redash"] {
        let v = monitored(engine);
        let (_, objects) = desired(&v, Some("s3cr3t-p@ss"), None).expect("known");
        assert_eq!(find(&objects, "ServiceMonitor"), &Json::Null, "{engine}");
        assert_eq!(find(&objects, "PrometheusRule")["kind"], "PrometheusRule");
        let mut d = Diagnostics::new();
        checks::check(&v, &mut d);
        let warning = d
            .iter()
            .find(|x| x.summary == "No metrics endpoint to scrape")
            .unwrap_or_else(|| panic!("{engine}: no warning"));
        assert_eq!(
            warning.attribute,
            Some(AttributePath::root().attr("monitoring"))
        );
    }
    let mut d = Diagnostics::new();
    checks::check(&monitored("metabase"), &mut d);
    assert!(d
        .iter()
        .all(|x| x.summary != "No metrics endpoint to scrape"));
}

#[test]
fn metabase_gets_its_encryption_key_through_the_secret_only() {
    let mut v = seed_metabase();
    set(
        &mut v,
        "secrets",
        obj(vec![
            ("secret_key", Value::Null),
            ("cookie_secret", Value::Null),
            ("encryption_key", Value::string("a-stable-encryption-key")),
            ("redis_url", Value::Null),
        ]),
    );
    let mut d = Diagnostics::new();
    checks::check(&v, &mut d);
    assert!(!d.has_errors(), "{:?}", d.iter().collect::<Vec<_>>());
    let (spec, objects) = desired(&v, Some("s3cr3t-p@ss"), None).expect("known");
    let deployment = find(&objects, "Deployment");
    assert_eq!(
        env_value(&env_of(deployment), "MB_ENCRYPTION_SECRET_KEY")["valueFrom"]["secretKeyRef"]
            ["key"],
        "encryption-key"
    );
    assert!(!deployment.to_string().contains("a-stable-encryption-key"));
    assert_eq!(
        render::secret_data(&spec, Some("s3cr3t-p@ss")).get("encryption-key"),
        Some(&"a-stable-encryption-key".to_string())
    );

    // Other engines have no use for it.
    set(&mut v, "engine", Value::string("zeppelin"));
    let mut d = Diagnostics::new();
    checks::check(&v, &mut d);
    assert!(
        d.iter().any(|x| x.summary == "Unused engine secret"
            && x.attribute == Some(AttributePath::root().attr("secrets").attr("encryption_key"))),
        "{:?}",
        d.iter().collect::<Vec<_>>()
    );
}

const WAF_ACL: &str =
    "arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/analytics/a1b2c3d4-5678-90ab-cdef-111122223333";

/// The seed's Metabase with some of its `ingress` arguments replaced.
fn with_ingress(pairs: Vec<(&str, Value)>) -> Value {
    let mut v = seed_metabase();
    let mut ingress = v.get_attr("ingress").cloned().unwrap_or(Value::Null);
    for (k, x) in pairs {
        set(&mut ingress, k, x);
    }
    set(&mut v, "ingress", ingress);
    v
}

fn rendered_ingress(v: &Value) -> Json {
    let (_, objects) = desired(v, None, None).expect("known");
    find(&objects, "Ingress").clone()
}

fn annotation<'a>(ingress: &'a Json, key: &str) -> &'a Json {
    &ingress["metadata"]["annotations"][format!("alb.ingress.kubernetes.io/{key}")]
}

fn strings(items: &[&str]) -> Value {
    Value::set(items.iter().map(|s| Value::string(*s)).collect())
}

#[test]
fn inbound_cidrs_waf_and_health_check_become_alb_annotations() {
    let v = with_ingress(vec![
        (
            "inbound_cidrs",
            strings(&["2001:db8::/32", "10.20.0.0/16", "10.0.0.0/8"]),
        ),
        ("wafv2_acl_arn", Value::string(WAF_ACL)),
        ("health_check_path", Value::string("/api/ready")),
    ]);
    let i = rendered_ingress(&v);
    assert_eq!(
        annotation(&i, "inbound-cidrs"),
        "10.0.0.0/8,10.20.0.0/16,2001:db8::/32"
    );
    assert_eq!(annotation(&i, "wafv2-acl-arn"), WAF_ACL);
    assert_eq!(annotation(&i, "healthcheck-path"), "/api/ready");
    // Left out, neither is written (the controller's defaults hold).
    let plain = rendered_ingress(&seed_metabase());
    assert_eq!(annotation(&plain, "inbound-cidrs"), &Json::Null);
    assert_eq!(annotation(&plain, "wafv2-acl-arn"), &Json::Null);
    let empty = rendered_ingress(&with_ingress(vec![("inbound_cidrs", strings(&[]))]));
    assert_eq!(annotation(&empty, "inbound-cidrs"), &Json::Null);
}

#[test]
fn a_certificate_redirects_http_to_https_unless_ssl_redirect_is_false() {
    let i = rendered_ingress(&seed_metabase());
    assert_eq!(annotation(&i, "ssl-redirect"), "443");
    assert_eq!(
        annotation(&i, "listen-ports"),
        r#"[{"HTTP":80},{"HTTPS":443}]"#
    );
    let kept = rendered_ingress(&with_ingress(vec![("ssl_redirect", Value::bool(false))]));
    assert_eq!(annotation(&kept, "ssl-redirect"), &Json::Null);
    assert_eq!(
        annotation(&kept, "listen-ports"),
        r#"[{"HTTP":80},{"HTTPS":443}]"#,
        "both listeners serve"
    );
    // Without a certificate there is no HTTPS listener to redirect to.
    let http = rendered_ingress(&with_ingress(vec![("certificate_arn", Value::Null)]));
    assert_eq!(annotation(&http, "ssl-redirect"), &Json::Null);
    assert_eq!(annotation(&http, "listen-ports"), r#"[{"HTTP":80}]"#);
}

/// What the plan makes of a configuration: the schema's defaults, then the resource's.
fn planned_from(config: &Value) -> Value {
    let schema = schema::schema();
    let p = crate::framework::plan::plan(&schema, &Value::Null, config, config);
    let mut planned = p.planned;
    BiService.plan_defaults(config, &mut planned);
    planned
}

fn minimal(engine: &str, ingress: Vec<(&str, Value)>) -> Value {
    let block = &schema::schema().block;
    let ingress_block = block
        .blocks
        .iter()
        .find(|b| b.type_name == "ingress")
        .map(|b| b.block.clone())
        .expect("ingress block");
    let mut fields = ObjectBuilder::new(&ingress_block)
        .set("host", Value::string("bi.example.com"))
        .build();
    for (k, x) in ingress {
        set(&mut fields, k, x);
    }
    ObjectBuilder::new(block)
        .set("name", Value::string("bi"))
        .set("engine", Value::string(engine))
        .set("ingress", fields)
        .build()
}

#[test]
fn the_health_check_defaults_to_each_engine_health_endpoint() {
    for (engine, path) in [
        ("metabase", "/api/health"),
        ("superset", "/health"),
        ("redash", "/ping"),
        ("zeppelin", "/api/version"),
    ] {
        let planned = planned_from(&minimal(engine, vec![]));
        let ingress = planned.get_attr("ingress").cloned().unwrap_or(Value::Null);
        assert_eq!(
            ingress.get_attr("health_check_path"),
            Some(&Value::string(path)),
            "{engine}"
        );
        // The probes and the load balancer ask the same endpoint.
        let spec = Spec::from_value(&planned).expect("known");
        let probe = render::objects(&spec, None, "{}");
        let d = find(&probe, "Deployment");
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/readinessProbe/httpGet/path"),
            Some(&json!(path)),
            "{engine}"
        );
        assert_eq!(
            annotation(find(&probe, "Ingress"), "healthcheck-path"),
            path
        );
    }
}

#[test]
fn a_health_check_path_left_out_again_goes_back_to_the_default() {
    let config = minimal("superset", vec![]);
    let mut prior_plan = minimal(
        "superset",
        vec![("health_check_path", Value::string("/custom"))],
    );
    BiService.plan_defaults(&prior_plan.clone(), &mut prior_plan);
    let kept = prior_plan
        .get_attr("ingress")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        kept.get_attr("health_check_path"),
        Some(&Value::string("/custom"))
    );
    // Core proposes the prior value for an optional+computed attribute left out.
    let mut planned = prior_plan;
    BiService.plan_defaults(&config, &mut planned);
    let ingress = planned.get_attr("ingress").cloned().unwrap_or(Value::Null);
    assert_eq!(
        ingress.get_attr("health_check_path"),
        Some(&Value::string("/health"))
    );
}

#[test]
fn another_ingress_class_gets_tls_from_a_secret_and_no_alb_annotation() {
    let v = with_ingress(vec![
        ("class", Value::string("nginx")),
        ("certificate_arn", Value::Null),
        ("group_name", Value::Null),
        ("tls_secret_name", Value::string("metabase-tls")),
        (
            "annotations",
            Value::map([(
                "cert-manager.io/cluster-issuer".to_string(),
                Value::string("letsencrypt"),
            )]),
        ),
    ]);
    let (spec, objects) = desired(&v, None, None).expect("known");
    let i = find(&objects, "Ingress");
    assert_eq!(i["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        i["spec"]["tls"],
        json!([{"hosts": ["metabase.analytics.example.com"], "secretName": "metabase-tls"}])
    );
    let annotations = i["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        annotations.keys().collect::<Vec<_>>(),
        ["cert-manager.io/cluster-issuer"],
        "{i}"
    );
    assert_eq!(spec.url(), "https://metabase.analytics.example.com/");
    // Without user annotations there are none at all; an ALB class gets no spec.tls.
    let bare = rendered_ingress(&with_ingress(vec![
        ("class", Value::string("traefik")),
        ("certificate_arn", Value::Null),
    ]));
    assert_eq!(bare["metadata"]["annotations"], Json::Null, "{bare}");
    assert_eq!(bare["spec"]["tls"], Json::Null);
    assert_eq!(
        rendered_ingress(&seed_metabase())["spec"]["tls"],
        Json::Null
    );
    // An ALB class by name keeps its annotations.
    let named = rendered_ingress(&with_ingress(vec![(
        "class",
        Value::string("alb-internal"),
    )]));
    assert_eq!(annotation(&named, "scheme"), "internal");
}

#[test]
fn user_annotations_override_the_ones_the_resource_sets() {
    let v = with_ingress(vec![
        ("inbound_cidrs", strings(&["10.0.0.0/8"])),
        (
            "annotations",
            Value::map([
                (
                    "alb.ingress.kubernetes.io/ssl-redirect".to_string(),
                    Value::string("8443"),
                ),
                (
                    "alb.ingress.kubernetes.io/inbound-cidrs".to_string(),
                    Value::string("192.168.0.0/16"),
                ),
                (
                    "alb.ingress.kubernetes.io/healthcheck-path".to_string(),
                    Value::string("/override"),
                ),
            ]),
        ),
    ]);
    let i = rendered_ingress(&v);
    assert_eq!(annotation(&i, "ssl-redirect"), "8443");
    assert_eq!(annotation(&i, "inbound-cidrs"), "192.168.0.0/16");
    assert_eq!(annotation(&i, "healthcheck-path"), "/override");
    assert_eq!(annotation(&i, "scheme"), "internal", "the others stay");
}

#[test]
fn the_new_ingress_arguments_round_trip_through_the_configuration_annotation() {
    let v = with_ingress(vec![
        ("ssl_redirect", Value::bool(false)),
        ("inbound_cidrs", strings(&["10.0.0.0/8", "2001:db8::/32"])),
        ("health_check_path", Value::string("/api/ready")),
        ("wafv2_acl_arn", Value::string(WAF_ACL)),
    ]);
    let text = config_annotation(&v).expect("annotation");
    let json: Json = serde_json::from_str(&text).expect("json");
    let restored =
        crate::value::decode_json_value(&json, &schema::schema().value_type()).expect("decodes");
    assert_eq!(restored.get_attr("ingress"), v.get_attr("ingress"));
    let nginx = with_ingress(vec![
        ("class", Value::string("nginx")),
        ("certificate_arn", Value::Null),
        ("tls_secret_name", Value::string("metabase-tls")),
    ]);
    let text = config_annotation(&nginx).expect("annotation");
    let json: Json = serde_json::from_str(&text).expect("json");
    let restored =
        crate::value::decode_json_value(&json, &schema::schema().value_type()).expect("decodes");
    assert_eq!(restored.get_attr("ingress"), nginx.get_attr("ingress"));
}

/// The paths of the diagnostics validation and the resource's checks give a configuration.
fn refused(config: &Value) -> Vec<String> {
    let schema = schema::schema();
    let mut d = crate::framework::validate::validate_config(
        &schema.block,
        config,
        // Terraform 1.11 and later.
        crate::framework::ClientCapabilities {
            write_only_attributes_allowed: true,
        },
    );
    BiService.check_config(config, &mut d);
    d.iter()
        .filter(|x| x.severity == crate::framework::Severity::Error)
        .map(|x| {
            x.attribute
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn bad_ingress_arguments_are_refused_at_their_attribute() {
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (
            vec![("inbound_cidrs", strings(&["10.0.0.0/8", "10.0.0.300/32"]))],
            "ingress.inbound_cidrs",
        ),
        (
            vec![(
                "wafv2_acl_arn",
                Value::string(
                    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/analytics/a1b2c3d4",
                ),
            )],
            "ingress.wafv2_acl_arn",
        ),
        (
            vec![("health_check_path", Value::string("/api/*"))],
            "ingress.health_check_path",
        ),
        (
            vec![
                ("class", Value::string("nginx")),
                ("wafv2_acl_arn", Value::string(WAF_ACL)),
            ],
            "ingress.wafv2_acl_arn",
        ),
        (
            vec![
                (
                    "certificate_arn",
                    Value::string("arn:aws:acm:eu-central-1:123456789012:certificate/x"),
                ),
                ("tls_secret_name", Value::string("bi-tls")),
            ],
            "ingress.tls_secret_name",
        ),
        (
            vec![("tls_secret_name", Value::string("bi-tls"))],
            "ingress.tls_secret_name",
        ),
        (
            vec![("ssl_redirect", Value::bool(true))],
            "ingress.ssl_redirect",
        ),
        (
            vec![
                ("class", Value::string("nginx")),
                ("tls_secret_name", Value::string("Bad_Name")),
            ],
            "ingress.tls_secret_name",
        ),
    ];
    for (ingress, path) in cases {
        let config = minimal("metabase", ingress.clone());
        assert_eq!(refused(&config), vec![path], "{ingress:?}");
    }
    let fine = minimal(
        "metabase",
        vec![
            ("class", Value::string("nginx")),
            ("tls_secret_name", Value::string("bi-tls")),
        ],
    );
    assert!(refused(&fine).is_empty(), "{:?}", refused(&fine));
}

/// A whole nested block of the schema: every attribute null, then `pairs`.
fn block_with(name: &str, pairs: Vec<(&str, Value)>) -> Value {
    let mut v = schema::schema()
        .block
        .find_block(name)
        .map_or(Value::Null, |b| b.block.null_object());
    for (k, x) in pairs {
        set(&mut v, k, x);
    }
    v
}

fn secret_ref(name: &str, key: &str) -> Value {
    obj(vec![
        ("name", Value::string(name)),
        ("key", Value::string(key)),
    ])
}

/// The seed's Metabase whose database password and encryption key come from existing
/// Secrets.
fn metabase_with_references() -> Value {
    let mut v = seed_metabase();
    set(
        &mut v,
        "database",
        block_with(
            "database",
            vec![
                ("type", Value::string("mysql")),
                (
                    "host",
                    Value::string("metabase.abc.eu-central-1.rds.amazonaws.com"),
                ),
                ("port", Value::number(3306i64)),
                ("name", Value::string("metabase")),
                ("username", Value::string("metabase")),
                ("password_secret", secret_ref("rds-master", "password")),
            ],
        ),
    );
    set(
        &mut v,
        "secrets",
        block_with(
            "secrets",
            vec![(
                "encryption_key_secret",
                secret_ref("metabase-keys", "encryption.key"),
            )],
        ),
    );
    v
}

fn secret_key_ref<'a>(env: &'a [Json], name: &str) -> &'a Json {
    &env_value(env, name)["valueFrom"]["secretKeyRef"]
}

#[test]
fn referenced_credentials_are_read_by_the_deployment_from_their_secret_and_never_stored() {
    let v = metabase_with_references();
    assert!(refused(&v).is_empty(), "{:?}", refused(&v));
    let (spec, objects) = desired(&v, None, None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    assert_eq!(
        secret_key_ref(&env, "MB_DB_PASS"),
        &json!({"name": "rds-master", "key": "password"})
    );
    assert_eq!(
        secret_key_ref(&env, "MB_ENCRYPTION_SECRET_KEY"),
        &json!({"name": "metabase-keys", "key": "encryption.key"})
    );
    // The service's own Secret keeps the user name only.
    let data = render::secret_data(&spec, None);
    assert_eq!(data.keys().collect::<Vec<_>>(), vec!["database-username"]);
    assert_eq!(
        secret_key_ref(&env, "MB_DB_USER"),
        &json!({"name": "metabase", "key": "database-username"})
    );
    // Nothing to compare for them on refresh: they are not the resource's.
    assert!(BiService
        .unknown_secret_keys(&v)
        .contains(&"database-password"));
}

#[test]
fn superset_and_redash_compose_their_database_url_from_a_referenced_password() {
    let mut v = metabase_with_references();
    set(&mut v, "engine", Value::string("superset"));
    set(&mut v, "image", Value::Null);
    set(
        &mut v,
        "secrets",
        block_with(
            "secrets",
            vec![("secret_key_secret", secret_ref("superset", "secret-key"))],
        ),
    );
    assert!(refused(&v).is_empty(), "{:?}", refused(&v));
    let (spec, objects) = desired(&v, None, None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    let position = |name: &str| env.iter().position(|e| e["name"] == name);
    assert_eq!(
        secret_key_ref(&env, "DATABASE_PASSWORD"),
        &json!({"name": "rds-master", "key": "password"})
    );
    assert_eq!(
        env_value(&env, "SQLALCHEMY_DATABASE_URI")["value"],
        "mysql+mysqldb://metabase:$(DATABASE_PASSWORD)@metabase.abc.eu-central-1.rds.amazonaws.com:3306/metabase"
    );
    assert!(position("DATABASE_PASSWORD") < position("SQLALCHEMY_DATABASE_URI"));
    assert_eq!(
        position("SQLALCHEMY_DATABASE_URI"),
        Some(env.len() - 1),
        "composed last"
    );
    assert_eq!(
        secret_key_ref(&env, "SUPERSET_SECRET_KEY"),
        &json!({"name": "superset", "key": "secret-key"})
    );
    let data = render::secret_data(&spec, None);
    assert!(!data.contains_key("database-url") && !data.contains_key("secret-key"));

    set(&mut v, "engine", Value::string("redash"));
    let mut db = v.get_attr("database").cloned().unwrap_or(Value::Null);
    set(&mut db, "type", Value::string("postgres"));
    set(&mut db, "port", Value::number(5432i64));
    set(&mut v, "database", db);
    let (_, objects) = desired(&v, None, None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    let position = |name: &str| env.iter().position(|e| e["name"] == name);
    assert_eq!(
        secret_key_ref(&env, engines::COMPOSED_PASSWORD_VAR),
        &json!({"name": "rds-master", "key": "password"})
    );
    assert_eq!(
        env_value(&env, "REDASH_DATABASE_URL")["value"],
        "postgresql://metabase:$(DATAPLATFORM_DATABASE_PASSWORD)@metabase.abc.eu-central-1.rds.amazonaws.com:5432/metabase"
    );
    assert!(position(engines::COMPOSED_PASSWORD_VAR) < position("REDASH_DATABASE_URL"));
}

#[test]
fn write_only_engine_secrets_reach_the_secret_at_apply_only() {
    let mut planned = seed_metabase();
    set(&mut planned, "engine", Value::string("superset"));
    set(
        &mut planned,
        "secrets",
        block_with(
            "secrets",
            vec![("secret_key_wo_version", Value::number(1i64))],
        ),
    );
    let mut config = planned.clone();
    set(
        &mut config,
        "secrets",
        block_with(
            "secrets",
            vec![
                ("secret_key_wo", Value::string("write-only-secret-key-0123")),
                ("secret_key_wo_version", Value::number(1i64)),
            ],
        ),
    );
    assert!(refused(&config).is_empty(), "{:?}", refused(&config));
    let data = |objects: &[Json]| find(objects, "Secret")["data"]["secret-key"].clone();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("write-only-secret-key-0123");
    let (_, at_plan) = BiService.render(&planned, Stage::Plan).expect("known");
    assert_eq!(data(&at_plan), json!(""));
    let (_, at_read) = BiService.render(&planned, Stage::Read).expect("known");
    assert_eq!(data(&at_read), json!(""));
    let (_, at_apply) = BiService
        .render(&planned, Stage::Apply { config: &config })
        .expect("known");
    assert_eq!(data(&at_apply), json!(encoded));
    let env = env_of(find(&at_apply, "Deployment"));
    assert_eq!(
        secret_key_ref(&env, "SUPERSET_SECRET_KEY"),
        &json!({"name": "metabase", "key": "secret-key"})
    );
    // Refresh cannot compare it; the password it stores still shows drift.
    assert_eq!(BiService.unknown_secret_keys(&planned), vec!["secret-key"]);
    // The version is configuration (an import restores it), the value is not.
    let text = config_annotation(&config).expect("annotation");
    assert!(!text.contains("write-only-secret-key"), "{text}");
    assert!(text.contains("\"secret_key_wo_version\":1"), "{text}");

    // A failed apply keeps the version last applied, so the next plan sends it again.
    let mut state = planned.clone();
    set(
        &mut state,
        "secrets",
        block_with(
            "secrets",
            vec![("secret_key_wo_version", Value::number(2i64))],
        ),
    );
    BiService.after_failed_apply(&planned, &mut state);
    assert_eq!(
        state
            .get_attr("secrets")
            .and_then(|s| s.get_attr("secret_key_wo_version")),
        Some(&Value::number(1i64))
    );
}

#[test]
fn secret_version_is_a_pod_template_annotation_that_rolls_the_pods() {
    let mut v = metabase_with_references();
    let annotation = |v: &Value| {
        let (_, objects) = desired(v, None, None).expect("known");
        find(&objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
            [render::SECRET_VERSION_ANNOTATION]
            .clone()
    };
    assert_eq!(annotation(&v), Json::Null);
    set(&mut v, "secret_version", Value::string("2026-06-01"));
    assert_eq!(annotation(&v), json!("2026-06-01"));
    set(&mut v, "secret_version", Value::string("2026-09-01"));
    assert_eq!(annotation(&v), json!("2026-09-01"));
    assert!(refused(&v).is_empty(), "{:?}", refused(&v));
}

#[test]
fn references_and_the_secret_version_round_trip_through_the_configuration_annotation() {
    let mut v = metabase_with_references();
    set(&mut v, "secret_version", Value::string("7"));
    let text = config_annotation(&v).expect("annotation");
    let json: Json = serde_json::from_str(&text).expect("json");
    let restored =
        crate::value::decode_json_value(&json, &schema::schema().value_type()).expect("decodes");
    for attr in ["database", "secrets", "secret_version"] {
        assert_eq!(restored.get_attr(attr), v.get_attr(attr), "{attr}");
    }
    // Without references or versions the secrets block stays out of the annotation, as
    // before: its values are secret.
    let text = config_annotation(&seed_metabase()).expect("annotation");
    assert!(text.contains("\"secrets\":null"), "{text}");
}

#[test]
fn bad_secret_references_and_sources_are_refused_at_their_attribute() {
    let with_db = |pairs: Vec<(&str, Value)>| {
        let mut v = metabase_with_references();
        let mut db = v.get_attr("database").cloned().unwrap_or(Value::Null);
        for (k, x) in pairs {
            set(&mut db, k, x);
        }
        set(&mut v, "database", db);
        v
    };
    let with_secrets = |engine: &str, pairs: Vec<(&str, Value)>| {
        let mut v = metabase_with_references();
        set(&mut v, "engine", Value::string(engine));
        set(&mut v, "secrets", block_with("secrets", pairs));
        v
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with_db(vec![("password_secret", secret_ref("", "password"))]),
            "database.password_secret.name",
        ),
        (
            with_db(vec![(
                "password_secret",
                secret_ref("RDS_Master", "password"),
            )]),
            "database.password_secret.name",
        ),
        (
            with_db(vec![("password_secret", secret_ref("rds-master", ""))]),
            "database.password_secret.key",
        ),
        (
            with_db(vec![(
                "password_secret",
                secret_ref("rds-master", "pass word"),
            )]),
            "database.password_secret.key",
        ),
        (
            with_db(vec![("password", Value::string("s3cr3t-p@ss"))]),
            "database.password_secret",
        ),
        (
            with_secrets(
                "metabase",
                vec![
                    ("encryption_key", Value::string("a-stable-encryption-key")),
                    ("encryption_key_secret", secret_ref("metabase-keys", "k")),
                ],
            ),
            "secrets.encryption_key_secret",
        ),
        (
            with_secrets(
                "metabase",
                vec![(
                    "encryption_key_wo",
                    Value::string("a-stable-encryption-key"),
                )],
            ),
            "secrets.encryption_key_wo",
        ),
        (
            with_secrets(
                "metabase",
                vec![("encryption_key_wo_version", Value::number(1i64))],
            ),
            "secrets.encryption_key_wo_version",
        ),
        (
            with_secrets(
                "zeppelin",
                vec![("secret_key_secret", secret_ref("s", "k"))],
            ),
            "secrets.secret_key_secret",
        ),
    ];
    for (config, at) in cases {
        let paths = refused(&config);
        assert!(paths.iter().any(|p| p == at), "{at}: {paths:?}");
    }
    // A required engine secret given by reference or write-only is present.
    for pairs in [
        vec![("secret_key_secret", secret_ref("superset", "secret-key"))],
        vec![
            ("secret_key_wo", Value::string("write-only-secret-key-0123")),
            ("secret_key_wo_version", Value::number(3i64)),
        ],
    ] {
        let mut v = with_secrets("superset", pairs);
        set(&mut v, "image", Value::Null);
        let paths = refused(&v);
        assert!(paths.is_empty(), "{paths:?}");
    }
}

#[test]
fn pod_settings_reach_the_pod_template_without_overriding_the_resources_own() {
    let mut v = seed_metabase();
    set(
        &mut v,
        "pod_labels",
        Value::map([
            ("team", Value::string("analytics")),
            ("app.kubernetes.io/name", Value::string("not-metabase")),
        ]),
    );
    set(
        &mut v,
        "pod_annotations",
        Value::map([("prometheus.io/scrape", Value::string("false"))]),
    );
    set(
        &mut v,
        "image_pull_secrets",
        Value::list(vec![Value::string("registry-credentials")]),
    );
    set(&mut v, "priority_class_name", Value::string("bi-tools"));
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let d = find(&objects, "Deployment");
    let template = &d["spec"]["template"];
    assert_eq!(template["metadata"]["labels"]["team"], "analytics");
    let selector = &d["spec"]["selector"]["matchLabels"];
    for (k, want) in selector.as_object().into_iter().flatten() {
        assert_eq!(
            &template["metadata"]["labels"][k], want,
            "selector label {k} kept"
        );
    }
    assert_eq!(
        template["metadata"]["annotations"]["prometheus.io/scrape"],
        "false"
    );
    assert_eq!(
        template["spec"]["imagePullSecrets"],
        json!([{"name": "registry-credentials"}])
    );
    assert_eq!(template["spec"]["priorityClassName"], "bi-tools");
    // Only the pods get the pod labels.
    assert!(d["metadata"]["labels"].get("team").is_none());
}

#[test]
fn pod_labels_and_annotation_keys_are_checked() {
    let mut v = seed_metabase();
    set(
        &mut v,
        "pod_labels",
        Value::map([("app.kubernetes.io/name", Value::string("x"))]),
    );
    set(
        &mut v,
        "pod_annotations",
        Value::map([("not a key", Value::string("x"))]),
    );
    let mut d = Diagnostics::new();
    checks::check(&v, &mut d);
    let at: Vec<String> = d
        .iter()
        .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
        .collect();
    assert!(at.iter().any(|p| p.starts_with("pod_labels")), "{at:?}");
    assert!(
        at.iter().any(|p| p.starts_with("pod_annotations")),
        "{at:?}"
    );
}

/// A nested block's object with the given attributes, the others null.
fn nested(block: &str, pairs: Vec<(&str, Value)>) -> Value {
    let schema = schema::schema();
    let mut b = ObjectBuilder::new(&schema.block.find_block(block).expect("nested block").block);
    for (k, v) in pairs {
        b = b.set(k, v);
    }
    b.build()
}

fn error_paths(v: &Value) -> Vec<String> {
    let mut d = Diagnostics::new();
    checks::check(v, &mut d);
    d.iter()
        .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
        .collect()
}

#[test]
fn replicated_pods_spread_over_zones_and_hosts_unless_told_otherwise() {
    let mut v = seed_metabase();
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let pod = &find(&objects, "Deployment")["spec"]["template"]["spec"];
    assert!(
        pod.get("topologySpreadConstraints").is_none(),
        "one replica: {pod}"
    );

    set(&mut v, "replicas", Value::number(3i64));
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let d = find(&objects, "Deployment");
    let spreads = &d["spec"]["template"]["spec"]["topologySpreadConstraints"];
    let keys: Vec<&str> = spreads
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["topologyKey"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    );
    for s in spreads.as_array().into_iter().flatten() {
        assert_eq!(s["whenUnsatisfiable"], "ScheduleAnyway");
        assert_eq!(s["maxSkew"], 1);
        assert_eq!(
            s["labelSelector"]["matchLabels"],
            d["spec"]["selector"]["matchLabels"]
        );
    }

    set(
        &mut v,
        "topology_spread",
        Value::list(vec![nested(
            "topology_spread",
            vec![("when_unsatisfiable", Value::string("DoNotSchedule"))],
        )]),
    );
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let spreads =
        &find(&objects, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"];
    assert_eq!(spreads.as_array().map(Vec::len), Some(1), "{spreads}");
    assert_eq!(spreads[0]["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(spreads[0]["whenUnsatisfiable"], "DoNotSchedule");
}

#[test]
fn affinity_keeps_pods_apart_and_on_the_required_nodes() {
    let mut v = seed_metabase();
    let schema = schema::schema();
    let affinity = &schema.block.find_block("affinity").expect("affinity").block;
    let requirement = ObjectBuilder::new(
        &affinity
            .find_block("node_affinity")
            .expect("node_affinity")
            .block,
    )
    .set("key", Value::string("karpenter.sh/capacity-type"))
    .set("operator", Value::string("In"))
    .set("values", Value::list(vec![Value::string("on-demand")]))
    .build();
    set(
        &mut v,
        "affinity",
        ObjectBuilder::new(affinity)
            .set("pod_anti_affinity", Value::string("preferred"))
            .set("node_affinity", Value::list(vec![requirement]))
            .build(),
    );
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let d = find(&objects, "Deployment");
    let a = &d["spec"]["template"]["spec"]["affinity"];
    let preferred = &a["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(
        preferred["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        preferred["podAffinityTerm"]["labelSelector"]["matchLabels"],
        d["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        a["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchExpressions"],
        json!([{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}])
    );
}

#[test]
fn each_engine_runs_as_its_images_user_with_a_startup_budget_covering_its_start() {
    for (engine, uid, gid) in [
        ("metabase", 2000, 2000),
        ("superset", 1000, 1000),
        ("redash", 1000, 1000),
        ("zeppelin", 1000, 0),
    ] {
        let mut v = seed_metabase();
        set(&mut v, "engine", Value::string(engine));
        let (spec, objects) = desired(&v, Some("pw"), None).expect("known");
        let pod = &find(&objects, "Deployment")["spec"]["template"]["spec"];
        let sc = &pod["securityContext"];
        assert_eq!(sc["runAsUser"], uid, "{engine}");
        assert_eq!(sc["runAsGroup"], gid, "{engine}");
        assert_eq!(sc["fsGroup"], gid, "{engine}");
        assert_eq!(sc["runAsNonRoot"], true, "{engine}");
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        let p = &c["startupProbe"];
        assert_eq!(p["httpGet"]["path"], spec.engine.health_path());
        let budget = p["initialDelaySeconds"].as_i64().unwrap_or_default()
            + p["periodSeconds"].as_i64().unwrap_or_default()
                * p["failureThreshold"].as_i64().unwrap_or_default();
        assert!(
            budget >= spec.engine.startup_minimum(),
            "{engine}: {budget}"
        );
    }

    let mut v = seed_metabase();
    set(
        &mut v,
        "security_context",
        nested(
            "security_context",
            vec![
                ("run_as_user", Value::number(3000i64)),
                ("read_only_root_filesystem", Value::bool(true)),
            ],
        ),
    );
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let pod = &find(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 3000);
    assert_eq!(
        pod["securityContext"]["runAsGroup"], 2000,
        "the rest keeps the engine's defaults"
    );
    assert_eq!(
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
}

#[test]
fn extra_volumes_mount_into_the_engine_container() {
    let mut v = seed_metabase();
    set(
        &mut v,
        "extra_volumes",
        Value::list(vec![
            nested(
                "extra_volumes",
                vec![
                    ("name", Value::string("plugins")),
                    ("persistent_volume_claim", Value::string("metabase-plugins")),
                ],
            ),
            nested(
                "extra_volumes",
                vec![
                    ("name", Value::string("ca")),
                    ("config_map", Value::string("corporate-ca")),
                ],
            ),
            nested(
                "extra_volumes",
                vec![
                    ("name", Value::string("tmp")),
                    ("empty_dir", Value::bool(true)),
                ],
            ),
        ]),
    );
    set(
        &mut v,
        "extra_volume_mounts",
        Value::list(vec![
            nested(
                "extra_volume_mounts",
                vec![
                    ("name", Value::string("plugins")),
                    ("mount_path", Value::string("/plugins")),
                ],
            ),
            nested(
                "extra_volume_mounts",
                vec![
                    ("name", Value::string("ca")),
                    ("mount_path", Value::string("/etc/ssl/corporate")),
                    ("read_only", Value::bool(true)),
                ],
            ),
        ]),
    );
    assert!(error_paths(&v).is_empty(), "{:?}", error_paths(&v));
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let pod = &find(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "plugins", "persistentVolumeClaim": {"claimName": "metabase-plugins"}},
            {"name": "ca", "configMap": {"name": "corporate-ca"}},
            {"name": "tmp", "emptyDir": {}},
        ])
    );
    assert_eq!(
        pod["containers"][0]["volumeMounts"],
        json!([
            {"name": "plugins", "mountPath": "/plugins"},
            {"name": "ca", "mountPath": "/etc/ssl/corporate", "readOnly": true},
        ])
    );
}

#[test]
fn jvm_options_time_zone_and_site_url_reach_the_engines_own_variables() {
    let mut v = seed_metabase();
    set(
        &mut v,
        "java_opts",
        Value::string("-XX:MaxRAMPercentage=75"),
    );
    set(&mut v, "timezone", Value::string("Europe/Berlin"));
    set(
        &mut v,
        "site_url",
        Value::string("https://metabase.analytics.example.com/"),
    );
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    let value = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    assert_eq!(value("JAVA_OPTS"), Some(json!("-XX:MaxRAMPercentage=75")));
    assert_eq!(value("TZ"), Some(json!("Europe/Berlin")));
    assert_eq!(value("JAVA_TIMEZONE"), Some(json!("Europe/Berlin")));
    assert_eq!(
        value("MB_SITE_URL"),
        Some(json!("https://metabase.analytics.example.com/"))
    );

    set(&mut v, "engine", Value::string("zeppelin"));
    set(&mut v, "site_url", Value::Null);
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    assert!(env
        .iter()
        .any(|e| e["name"] == "ZEPPELIN_JAVA_OPTS" && e["value"] == "-XX:MaxRAMPercentage=75"));
    assert!(!env.iter().any(|e| e["name"] == "JAVA_OPTS"));
}

#[test]
fn pod_settings_the_engine_cannot_honour_are_refused_at_their_attribute() {
    let mut v = seed_metabase();
    set(&mut v, "engine", Value::string("superset"));
    set(&mut v, "java_opts", Value::string("-Xmx1g"));
    assert!(error_paths(&v).contains(&"java_opts".to_string()));

    let mut v = seed_metabase();
    set(&mut v, "engine", Value::string("zeppelin"));
    set(&mut v, "site_url", Value::string("https://z.example.com/"));
    assert!(error_paths(&v).contains(&"site_url".to_string()));

    let mut v = seed_metabase();
    set(
        &mut v,
        "startup_probe",
        nested(
            "startup_probe",
            vec![
                ("period_seconds", Value::number(10i64)),
                ("failure_threshold", Value::number(6i64)),
            ],
        ),
    );
    let paths = error_paths(&v);
    assert!(
        paths.contains(&"startup_probe.failure_threshold".to_string()),
        "Metabase needs 300 seconds, 60 are refused: {paths:?}"
    );
    set(&mut v, "engine", Value::string("redash"));
    assert!(
        !error_paths(&v)
            .iter()
            .any(|p| p.starts_with("startup_probe")),
        "Redash starts within a minute"
    );

    let mut v = seed_metabase();
    set(
        &mut v,
        "security_context",
        nested(
            "security_context",
            vec![("run_as_user", Value::number(0i64))],
        ),
    );
    assert!(error_paths(&v).contains(&"security_context.run_as_user".to_string()));

    let mut v = seed_metabase();
    set(
        &mut v,
        "extra_volume_mounts",
        Value::list(vec![nested(
            "extra_volume_mounts",
            vec![
                ("name", Value::string("plugins")),
                ("mount_path", Value::string("/plugins")),
            ],
        )]),
    );
    set(
        &mut v,
        "extra_volumes",
        Value::list(vec![nested(
            "extra_volumes",
            vec![("name", Value::string("other"))],
        )]),
    );
    let paths = error_paths(&v);
    assert!(
        paths.iter().any(|p| p.starts_with("extra_volume_mounts")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("extra_volumes")),
        "no source: {paths:?}"
    );
}

/// The seed's database as PostgreSQL with `ssl` and `options`.
fn with_postgres_connection(v: &mut Value, ssl: Value, options: Value) {
    if let Some(db) = v.get_attr_mut("database") {
        set(db, "type", Value::string("postgres"));
        set(db, "port", Value::number(5432i64));
        set(db, "ssl", ssl);
        set(db, "options", options);
    }
}

#[test]
fn ssl_and_connection_options_reach_each_engines_connection_string() {
    let mut v = seed_metabase();
    with_postgres_connection(
        &mut v,
        Value::string("verify-full"),
        Value::map([("connectTimeout", Value::string("10 s"))]),
    );
    let (spec, objects) = desired(&v, Some("pw"), None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    assert_eq!(
        env_value(&env, "MB_DB_CONNECTION_URI")["value"],
        "jdbc:postgresql://metabase.abc.eu-central-1.rds.amazonaws.com:5432/metabase?sslmode=verify-full&connectTimeout=10%20s"
    );
    assert_eq!(
        env_value(&env, "MB_DB_HOST"),
        &Json::Null,
        "the URI says it"
    );
    assert_eq!(
        env_value(&env, "MB_DB_PASS")["valueFrom"]["secretKeyRef"]["key"],
        "database-password",
        "credentials stay out of the URI"
    );
    assert!(!render::secret_data(&spec, Some("pw")).contains_key("database-url"));

    for engine in ["superset", "redash"] {
        set(&mut v, "engine", Value::string(engine));
        let (spec, _) = desired(&v, Some("pw"), None).expect("known");
        let url = render::secret_data(&spec, Some("pw"))
            .get("database-url")
            .cloned()
            .unwrap_or_default();
        assert!(
            url.ends_with("/metabase?sslmode=verify-full&connectTimeout=10%20s"),
            "{engine}: {url}"
        );
    }

    // Without them, Metabase keeps its separate variables.
    let mut v = seed_metabase();
    with_postgres_connection(&mut v, Value::Null, Value::Null);
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let env = env_of(find(&objects, "Deployment"));
    assert_eq!(env_value(&env, "MB_DB_CONNECTION_URI"), &Json::Null);
    assert_eq!(
        env_value(&env, "MB_DB_HOST")["value"],
        "metabase.abc.eu-central-1.rds.amazonaws.com"
    );
}

#[test]
fn mysql_ssl_and_credential_options_are_refused_at_their_attribute() {
    let mut v = seed_metabase();
    if let Some(db) = v.get_attr_mut("database") {
        set(db, "ssl", Value::string("require"));
        set(
            db,
            "options",
            Value::map([
                ("password", Value::string("x")),
                ("bad key", Value::string("x")),
            ]),
        );
    }
    let paths = error_paths(&v);
    assert!(paths.contains(&"database.ssl".to_string()), "{paths:?}");
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.starts_with("database.options"))
            .count(),
        2,
        "{paths:?}"
    );
}

#[test]
fn autoscaling_owns_the_replicas_through_its_own_autoscaler() {
    let mut v = seed_metabase();
    set(
        &mut v,
        "autoscaling",
        nested(
            "autoscaling",
            vec![
                ("min_replicas", Value::number(2i64)),
                ("max_replicas", Value::number(5i64)),
            ],
        ),
    );
    let (_, objects) = desired(&v, Some("pw"), None).expect("known");
    let d = find(&objects, "Deployment");
    assert!(
        d["spec"].get("replicas").is_none(),
        "left to the autoscaler"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "up to five pods spread by default"
    );
    let hpa = find(&objects, "HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["metadata"]["labels"], d["metadata"]["labels"]);
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "metabase"})
    );
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 5);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );

    // The replicas given in the configuration conflict; an upside-down range is refused.
    set(
        &mut v,
        "autoscaling",
        nested(
            "autoscaling",
            vec![
                ("min_replicas", Value::number(6i64)),
                ("max_replicas", Value::number(5i64)),
            ],
        ),
    );
    assert!(error_paths(&v).contains(&"autoscaling.min_replicas".to_string()));
    let mut d = Diagnostics::new();
    for r in &schema::schema().block.rules {
        r.check(&AttributePath::root(), &v, &mut d);
    }
    assert!(
        d.iter()
            .any(|x| format!("{x:?}").contains("HorizontalPodAutoscaler")),
        "replicas = 1 is set in this configuration: {:?}",
        d.iter().collect::<Vec<_>>()
    );
}

fn with_identity(service_account: Option<Value>, iam: Option<(&str, &str)>) -> Value {
    let mut v = seed_metabase();
    if let Some(sa) = service_account {
        set(&mut v, "service_account", sa);
    }
    if let Some((role, mechanism)) = iam {
        set(
            &mut v,
            "iam",
            obj(vec![
                ("role_arn", Value::string(role)),
                ("mechanism", Value::string(mechanism)),
            ]),
        );
    }
    v
}

fn account(name: Option<&str>, create: bool, annotations: &[(&str, &str)]) -> Value {
    obj(vec![
        ("name", name.map_or(Value::Null, Value::string)),
        ("create", Value::bool(create)),
        (
            "annotations",
            if annotations.is_empty() {
                Value::Null
            } else {
                Value::map(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.to_string(), Value::string(*v))),
                )
            },
        ),
    ])
}

const ROLE: &str = "arn:aws:iam::123456789012:role/metabase";

#[test]
fn the_pods_run_as_the_service_account_the_service_creates_with_irsa_on_it() {
    let v = with_identity(
        Some(account(None, true, &[("team", "bi")])),
        Some((ROLE, "irsa")),
    );
    let (spec, objects) = desired(&v, None, None).expect("known");
    let sa = find(&objects, "ServiceAccount");
    assert_eq!(sa["metadata"]["name"], "metabase");
    assert_eq!(
        sa["metadata"]["annotations"],
        json!({"team": "bi", "eks.amazonaws.com/role-arn": ROLE})
    );
    let d = find(&objects, "Deployment");
    assert_eq!(
        d["spec"]["template"]["spec"]["serviceAccountName"],
        "metabase"
    );
    assert!(
        BiService.pod_identities(&spec).is_empty(),
        "IRSA binds nothing"
    );
}

#[test]
fn pod_identity_binds_an_existing_service_account_without_rendering_it() {
    let v = with_identity(
        Some(account(Some("shared"), false, &[])),
        Some((ROLE, "pod_identity")),
    );
    let (spec, objects) = desired(&v, None, None).expect("known");
    assert!(objects.iter().all(|o| o["kind"] != "ServiceAccount"));
    assert_eq!(
        find(&objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"],
        "shared"
    );
    let bindings = BiService.pod_identities(&spec);
    assert_eq!(
        bindings.iter().map(|b| b.key()).collect::<Vec<_>>(),
        vec!["metabase/shared"]
    );
    // A role without a service_account block gets an account named after the service.
    let (spec, objects) = desired(
        &with_identity(None, Some((ROLE, "pod_identity"))),
        None,
        None,
    )
    .expect("known");
    assert_eq!(
        find(&objects, "ServiceAccount")["metadata"]["name"],
        "metabase"
    );
    assert_eq!(
        BiService.pod_identities(&spec)[0].key(),
        "metabase/metabase"
    );
    // Neither block: the namespace's default account, as before.
    let (_, objects) = desired(&seed_metabase(), None, None).expect("known");
    assert!(find(&objects, "Deployment")["spec"]["template"]["spec"]
        .get("serviceAccountName")
        .is_none());
}

#[test]
fn an_existing_service_account_takes_neither_annotations_nor_irsa() {
    let v = with_identity(
        Some(account(Some("shared"), false, &[("team", "bi")])),
        Some((ROLE, "irsa")),
    );
    let mut d = Diagnostics::new();
    checks::check(&v, &mut d);
    let paths: Vec<String> = d
        .iter()
        .filter_map(|x| x.attribute.as_ref().map(ToString::to_string))
        .collect();
    assert!(
        paths.contains(&"service_account.annotations".to_string())
            && paths.contains(&"iam.mechanism".to_string()),
        "{paths:?}"
    );
}
