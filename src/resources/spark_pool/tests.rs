use serde_json::json;

use super::*;
use crate::framework::attr::set;
use crate::framework::ObjectBuilder;

fn placement(purpose: &str, capacity: &str, tainted: bool) -> Value {
    let tol = Value::object(vec![
        ("key", Value::string("purpose")),
        ("operator", Value::string("Equal")),
        ("value", Value::string(purpose)),
        ("effect", Value::string("NoSchedule")),
    ]);
    let taint = Value::object(vec![
        ("key", Value::string("purpose")),
        ("value", Value::string(purpose)),
        ("effect", Value::string("NoSchedule")),
    ]);
    Value::object(vec![
        (
            "node_selector",
            Value::map([("purpose".to_string(), Value::string(purpose))]),
        ),
        (
            "tolerations",
            Value::list(if tainted { vec![tol] } else { vec![] }),
        ),
        (
            "labels",
            Value::map([("purpose".to_string(), Value::string(purpose))]),
        ),
        (
            "taints",
            Value::list(if tainted { vec![taint] } else { vec![] }),
        ),
        ("capacity_type", Value::string(capacity)),
        ("local_storage", Value::bool(purpose == "spark-executor")),
    ])
}

fn role(kind: &str, p: Value, extra: Vec<(&str, Value)>) -> Value {
    let block = schema::schema().block;
    let b = block
        .find_block(kind)
        .map(|b| b.block.clone())
        .unwrap_or_default();
    let mut builder = ObjectBuilder::new(&b).set("placement", p);
    for (k, v) in extra {
        builder = builder.set(k, v);
    }
    builder.build()
}

/// The seed's pool: drivers on the driver group, executors on the tainted spot group.
fn seed_pool(executor_extra: Vec<(&str, Value)>) -> Value {
    ObjectBuilder::new(&schema::schema().block)
        .set("name", Value::string("etl"))
        .set("create_namespace", Value::bool(true))
        .set(
            "driver",
            role(
                "driver",
                placement("spark-driver", "ON_DEMAND", true),
                vec![],
            ),
        )
        .set(
            "executor",
            role(
                "executor",
                placement("spark-executor", "SPOT", true),
                [
                    vec![("local_dirs", Value::list(vec![Value::string("/mnt/nvme0")]))],
                    executor_extra,
                ]
                .concat(),
            ),
        )
        .build()
}

fn plan(config: &Value) -> ModifyPlanResponse {
    crate::framework::resource::plan_create(&SparkPool, config)
}

#[test]
fn the_seed_pool_plans_its_outputs_and_objects() {
    let resp = plan(&seed_pool(vec![]));
    assert!(
        !resp.diagnostics.has_errors(),
        "{:?}",
        resp.diagnostics.iter().collect::<Vec<_>>()
    );
    let p = &resp.planned;
    assert_eq!(p.get_attr("namespace").and_then(Value::as_str), Some("etl"));
    assert_eq!(
        p.get_attr("decommission").and_then(Value::as_bool),
        Some(true),
        "executors on spot"
    );
    let conf = p
        .get_attr("spark_conf")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let get = |k: &str| {
        conf.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(get("spark.kubernetes.namespace"), "etl");
    assert_eq!(
        get("spark.kubernetes.authenticate.driver.serviceAccountName"),
        "spark-driver"
    );
    assert_eq!(
        get("spark.kubernetes.executor.node.selector.purpose"),
        "spark-executor"
    );
    assert_eq!(
        get("spark.kubernetes.executor.podTemplateFile"),
        "/opt/spark/pod-templates/etl/executor.yaml"
    );
    assert_eq!(get("spark.decommission.enabled"), "true");
    assert_eq!(
        get("spark.dynamicAllocation.shuffleTracking.enabled"),
        "true"
    );
    let template = p
        .get_attr("executor_pod_template")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(template.contains("\"spark-local-dir-1\""), "{template}");
    assert!(
        template.contains("\"effect\": \"NoSchedule\""),
        "{template}"
    );
    let objects = p
        .get_attr("objects")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(
        keys,
        [
            "ConfigMap/etl/etl-pod-templates",
            "Namespace/etl",
            "Role/etl/etl-driver",
            "RoleBinding/etl/etl-driver",
            "ServiceAccount/etl/spark-driver",
            "ServiceAccount/etl/spark-executor",
        ]
    );
    let app: serde_json::Value = serde_json::from_str(
        p.get_attr("spark_application_defaults")
            .and_then(Value::as_str)
            .unwrap_or("{}"),
    )
    .unwrap_or_default();
    assert_eq!(
        app["executor"]["template"]["spec"]["tolerations"][0]["key"],
        json!("purpose")
    );
    assert_eq!(app["driver"]["serviceAccount"], json!("spark-driver"));
}

#[test]
fn placement_that_cannot_schedule_is_an_error_at_plan_time() {
    // Executors that do not tolerate their group's taint.
    let resp = plan(&seed_pool(vec![("tolerations", Value::list(vec![]))]));
    let text = format!("{:?}", resp.diagnostics.iter().collect::<Vec<_>>());
    assert!(
        resp.diagnostics.has_errors() && text.contains("purpose=spark-executor:NoSchedule"),
        "{text}"
    );
    assert!(
        text.contains("executor") && text.contains("tolerations"),
        "{text}"
    );

    // A selector the group's labels do not satisfy.
    let sel = Value::map([("purpose".to_string(), Value::string("spark-driver"))]);
    let resp = plan(&seed_pool(vec![("node_selector", sel)]));
    let text = format!("{:?}", resp.diagnostics.iter().collect::<Vec<_>>());
    assert!(text.contains("matches no node"), "{text}");

    // Spot executors without decommissioning.
    let mut v = seed_pool(vec![]);
    set(&mut v, "decommission", Value::bool(false));
    let resp = plan(&v);
    let text = format!("{:?}", resp.diagnostics.iter().collect::<Vec<_>>());
    assert!(
        text.contains("Spot executors without decommissioning"),
        "{text}"
    );
}

#[test]
fn yaml_is_block_style_and_reads_back_as_the_same_json() {
    let v = json!({"apiVersion": "v1", "spec": {"containers": [{"name": "c", "volumeMounts": [{"name": "a", "mountPath": "/x"}]}],
                   "tolerations": [], "nodeSelector": {"purpose": "spark"}}});
    let y = render::to_yaml(&v);
    assert!(
        y.contains("\"spec\":\n  \"containers\":\n    - \"name\": \"c\"\n"),
        "{y}"
    );
    assert!(y.contains("\"tolerations\": []"), "{y}");
}

#[test]
fn event_logs_go_to_their_dir_and_roll_unless_told_not_to() {
    let with = |log: Value| {
        let mut v = seed_pool(vec![]);
        set(&mut v, "event_log", log);
        plan(&v)
    };
    let conf = |resp: &ModifyPlanResponse, k: &str| {
        resp.planned
            .get_attr("spark_conf")
            .and_then(Value::as_map)
            .and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let rolling = with(Value::object(vec![
        ("dir", Value::string("s3a://lake/spark-events")),
        ("rolling", Value::bool(true)),
        ("max_file_size", Value::string("256m")),
    ]));
    assert_eq!(
        conf(&rolling, "spark.eventLog.enabled").as_deref(),
        Some("true")
    );
    assert_eq!(
        conf(&rolling, "spark.eventLog.dir").as_deref(),
        Some("s3a://lake/spark-events")
    );
    assert_eq!(
        conf(&rolling, "spark.eventLog.rolling.maxFileSize").as_deref(),
        Some("256m")
    );
    let single = with(Value::object(vec![
        ("dir", Value::string("s3a://lake/spark-events")),
        ("rolling", Value::bool(false)),
        ("max_file_size", Value::Null),
    ]));
    assert_eq!(
        conf(&single, "spark.eventLog.rolling.enabled").as_deref(),
        Some("false")
    );
    let none = plan(&seed_pool(vec![]));
    assert_eq!(conf(&none, "spark.eventLog.enabled"), None);
}

#[test]
fn event_log_dirs_are_locations_spark_can_write() {
    let dir = regex::Regex::new(schema::EVENT_LOG_DIR).expect("pattern");
    for ok in [
        "s3a://lake/spark-events",
        "s3a://my.bucket",
        "gs://lake/events",
        "abfss://events@account.dfs.core.windows.net/spark",
        "hdfs://namenode:8020/spark-logs",
        "file:/tmp/spark-events",
    ] {
        assert!(dir.is_match(ok), "{ok}");
    }
    for bad in [
        "s3://lake/spark-events",
        "lake/spark-events",
        "s3a://",
        "s3a://Lake",
    ] {
        assert!(!dir.is_match(bad), "{bad}");
    }
}

fn iam(role_arn: &str, mechanism: &str) -> Value {
    Value::object(vec![
        ("role_arn", Value::string(role_arn)),
        ("mechanism", Value::string(mechanism)),
    ])
}

/// The seed pool with an `iam` block on the executors and the given image.
fn pool_with_iam(image: &str, mechanism: &str) -> Value {
    let mut v = seed_pool(vec![(
        "iam",
        iam("arn:aws:iam::123456789012:role/etl", mechanism),
    )]);
    set(&mut v, "image", Value::string(image));
    v
}

fn conf_value(resp: &ModifyPlanResponse, key: &str) -> Option<String> {
    resp.planned
        .get_attr("spark_conf")
        .and_then(Value::as_map)
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[test]
fn the_s3a_credentials_provider_follows_the_mechanism_and_the_images_aws_sdk() {
    let provider = "spark.hadoop.fs.s3a.aws.credentials.provider";
    for (image, mechanism, class) in [
        (
            "apache/spark:3.5.3",
            "irsa",
            "com.amazonaws.auth.WebIdentityTokenCredentialsProvider",
        ),
        (
            "apache/spark:3.5.3-scala2.12-java17-ubuntu",
            "pod_identity",
            "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider",
        ),
        (
            "apache/spark:4.0.1",
            "irsa",
            "software.amazon.awssdk.auth.credentials.WebIdentityTokenFileCredentialsProvider",
        ),
        (
            "registry.example.com/spark:latest",
            "pod_identity",
            "software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider",
        ),
    ] {
        let resp = plan(&pool_with_iam(image, mechanism));
        assert_eq!(
            conf_value(&resp, provider).as_deref(),
            Some(class),
            "{image} {mechanism}"
        );
        assert_eq!(
            conf_value(&resp, "spark.hadoop.fs.s3a.committer.name").as_deref(),
            Some("magic")
        );
    }
    // No role, no S3A settings; the pool's own conf wins over them.
    assert_eq!(conf_value(&plan(&seed_pool(vec![])), provider), None);
    let mut v = pool_with_iam("apache/spark:4.0.1", "irsa");
    set(
        &mut v,
        "conf",
        Value::map([(provider.to_string(), Value::string("custom.Provider"))]),
    );
    assert_eq!(
        conf_value(&plan(&v), provider).as_deref(),
        Some("custom.Provider")
    );
}

#[test]
fn pod_identity_on_a_spark_3_image_warns_at_the_mechanism() {
    let resp = plan(&pool_with_iam("apache/spark:3.5.3", "pod_identity"));
    let warning = resp
        .diagnostics
        .iter()
        .find(|d| d.summary.contains("Pod Identity needs a newer AWS SDK"))
        .expect("warning");
    assert!(!resp.diagnostics.has_errors());
    assert_eq!(
        warning
            .attribute
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("executor.iam.mechanism")
    );
    let resp = plan(&pool_with_iam("apache/spark:4.0.1", "pod_identity"));
    assert_eq!(resp.diagnostics.iter().count(), 0);
}

#[test]
fn a_service_account_shared_by_driver_and_executors_takes_one_role() {
    let shared = |role: &str| {
        vec![
            ("service_account", Value::string("spark")),
            ("iam", iam(role, "irsa")),
        ]
    };
    let mut v = seed_pool(shared("arn:aws:iam::123456789012:role/a"));
    set(
        &mut v,
        "driver",
        role(
            "driver",
            placement("spark-driver", "ON_DEMAND", true),
            shared("arn:aws:iam::123456789012:role/b"),
        ),
    );
    let resp = plan(&v);
    assert!(resp
        .diagnostics
        .iter()
        .any(|d| d.summary == "One service account, two IAM roles"));
}

#[test]
fn local_dirs_on_a_group_with_local_storage_are_empty_dirs_on_the_nvme() {
    let resp = plan(&seed_pool(vec![]));
    let pool = render::Pool::from_value(&resp.planned).expect("pool");
    let spec = &pool.executor_template()["spec"];
    assert_eq!(
        spec["volumes"],
        json!([{"name": "spark-local-dir-1", "emptyDir": {}}])
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name": "spark-local-dir-1", "mountPath": "/mnt/nvme0"}])
    );
}

#[test]
fn local_dirs_on_a_group_without_local_storage_fail_the_plan() {
    let mut v = seed_pool(vec![]);
    let mut p = placement("spark-executor", "SPOT", true);
    set(&mut p, "local_storage", Value::bool(false));
    if let Some(executor) = v.get_attr("executor").cloned() {
        let mut executor = executor;
        set(&mut executor, "placement", p);
        set(&mut v, "executor", executor);
    }
    let resp = plan(&v);
    let text = format!("{:?}", resp.diagnostics.iter().collect::<Vec<_>>());
    assert!(
        resp.diagnostics.has_errors()
            && text.contains("Local dirs on a node group without local storage")
            && text.contains("purpose=spark-executor")
            && text.contains("local_dirs"),
        "{text}"
    );
}

/// The seed pool, executors under IRSA, with a History Server under `history_iam`.
fn pool_with_history(history_iam: Option<Value>) -> Value {
    let mut v = pool_with_iam("apache/spark:3.5.3", "irsa");
    set(
        &mut v,
        "event_log",
        Value::object(vec![
            ("dir", Value::string("s3a://lake/spark-events")),
            ("rolling", Value::Null),
            ("max_file_size", Value::Null),
        ]),
    );
    let block = schema::schema().block;
    let history = block
        .find_block("history_server")
        .map(|b| b.block.clone())
        .unwrap_or_default();
    let mut h = ObjectBuilder::new(&history);
    if let Some(i) = history_iam {
        h = h.set("iam", i);
    }
    set(&mut v, "history_server", h.build());
    v
}

#[test]
fn the_history_server_reads_the_logs_under_its_own_role() {
    let provider = "spark.hadoop.fs.s3a.aws.credentials.provider";
    let history_of = |v: &Value| {
        let resp = plan(v);
        assert!(!resp.diagnostics.has_errors(), "{:?}", resp.diagnostics);
        render::Pool::from_value(&resp.planned).expect("known pool")
    };
    let account_of = |h: &history::HistoryServer| {
        h.objects(&json!({}))
            .into_iter()
            .find(|o| o["kind"] == "ServiceAccount")
            .expect("account")
    };

    // Its own role through Pod Identity: an association for its account, the provider for it.
    let pool = history_of(&pool_with_history(Some(iam(
        "arn:aws:iam::123456789012:role/spark-history",
        "pod_identity",
    ))));
    let h = pool.history.as_ref().expect("history server");
    assert_eq!(
        h.hadoop.get(provider).map(String::as_str),
        Some("org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider")
    );
    let keys: Vec<String> = pool.pod_identities().iter().map(|b| b.key()).collect();
    assert_eq!(keys, ["etl/spark-history"]);
    let account = account_of(h);
    assert!(account["metadata"]["annotations"].is_null(), "{account}");

    // Through IRSA: the account's annotation, the web identity provider.
    let pool = history_of(&pool_with_history(Some(iam(
        "arn:aws:iam::123456789012:role/spark-history",
        "irsa",
    ))));
    let h = pool.history.as_ref().expect("history server");
    assert_eq!(
        h.hadoop.get(provider).map(String::as_str),
        Some("com.amazonaws.auth.WebIdentityTokenCredentialsProvider")
    );
    assert!(pool.pod_identities().is_empty());
    let account = account_of(h);
    assert_eq!(
        account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/spark-history"
    );

    // No role of its own: the default chain (the nodes' profile), not the executors' provider.
    let pool = history_of(&pool_with_history(None));
    let h = pool.history.as_ref().expect("history server");
    assert_eq!(h.hadoop.get(provider), None);
    assert_eq!(
        h.hadoop
            .get("spark.hadoop.fs.s3a.committer.name")
            .map(String::as_str),
        Some("magic")
    );
}
