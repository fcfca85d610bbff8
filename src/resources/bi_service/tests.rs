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
    let (spec, objects) = desired(&v, Some("s3cr3t-p@ss")).expect("known");
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
    let (_, a) = desired(&v, Some("one password")).expect("known");
    let (_, b) = desired(&v, Some("another password")).expect("known");
    let (_, none) = desired(&v, None).expect("known");
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
    let (spec, objects) = desired(&v, Some("pw")).expect("known");
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
    let (_, objects) = desired(&v, Some("p w")).expect("known");
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
        let (_, objects) = desired(&v, Some("s3cr3t-p@ss")).expect("known");
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
    let (_, objects) = desired(&monitored("metabase"), Some("p")).expect("known");
    assert_eq!(
        port_names(&find(&objects, "Service")["spec"]["ports"]),
        ["http", "metrics"]
    );
    let (_, objects) = desired(&seed_metabase(), Some("p")).expect("known");
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
        let (_, objects) = desired(&v, Some("s3cr3t-p@ss")).expect("known");
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
    let (spec, objects) = desired(&v, Some("s3cr3t-p@ss")).expect("known");
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
