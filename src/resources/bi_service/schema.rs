//! The `dataplatform_bi_service` schema.

use std::time::Duration;

use crate::framework::plan_modifiers::RequiresReplace;
use crate::framework::rules::Rule;
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::timeouts;
use crate::framework::validators::{
    each, int_between, matches, one_of, size_between, string_length,
};
use crate::resources::common::{
    labels, namespace, scheduling_type, string_map, target_cluster_name, NAMESPACE_PATTERN,
    QUANTITY_PATTERN,
};
use crate::resources::ingress::schema::PATH_PATTERN;
use crate::resources::ingress::HealthCheck;
use crate::resources::kube_objects::{self, pod_iam};
use crate::value::{Type, Value};

use super::engines::ENGINES;

pub use crate::resources::common::{
    CERTIFICATE_ARN_PATTERN, HOSTNAME_PATTERN, SECRET_NAME_PATTERN,
};
#[cfg(test)]
use crate::resources::ingress::schema::{HEALTH_CHECK_PATH_PATTERN, WAFV2_ACL_ARN_PATTERN};

pub const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$";
/// A key of a Secret's data.
pub const SECRET_KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";
pub const ENV_NAME_PATTERN: &str = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The schema, built once per process.
pub fn schema() -> Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(0, block())).clone()
}

fn block() -> Block {
    super::pod::attributes(kube_objects::lifecycle_attributes(Block::new()))
        .description(
            "A BI tool (Metabase, Superset, Redash or Zeppelin) deployed into the cluster with an external \
             database and an ALB ingress, without a Helm chart: a Secret for credentials, a Deployment with the \
             engine's probes, a Service, an Ingress for the AWS Load Balancer Controller, a PodDisruptionBudget \
             and, with `monitoring`, a ServiceMonitor and a PrometheusRule that alerts on restarts and memory.\n\n\
             Objects are applied with server-side apply under the field manager `terraform-provider-dataplatform`; \
             the Kubernetes controllers keep them running. Plans are computed without contacting the cluster, so \
             the cluster may be created in the same apply. Refresh reads the live objects: changes to the fields \
             this resource sets, and objects deleted outside Terraform, show in `objects` and are put back.",
        )
        .attribute(
            target_cluster_name(
                "EKS cluster to deploy into. Defaults to the provider's `kubernetes` block, then to its \
                 `cluster_name`.",
            ),
        )
        .attribute(
            Attribute::required("name", Type::String)
                .description("Name of the service and of its objects: a DNS label of up to 53 characters.")
                .validator(matches(DNS_LABEL, "a lowercase DNS label (a-z, 0-9 and -, up to 53 characters)"))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            namespace("Namespace to deploy into. Default `default`.")
                .default_value(Value::string("default")),
        )
        .attribute(
            Attribute::optional_computed("create_namespace", Type::Bool)
                .description(
                    "Create the namespace, owned by the service: destroy deletes it when nothing the service did not \
                     create lives in it. Default `false`: deploy into an existing namespace, never deleted.",
                )
                .default_value(Value::bool(false))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::required("engine", Type::String)
                .description(
                    "The BI tool: `metabase` (port 3000, health `/api/health`), `superset` (8088, `/health`), \
                     `redash` (5000, `/ping`) or `zeppelin` (8080, `/api/version`).",
                )
                .validator(one_of(ENGINES))
                .plan_modifier(RequiresReplace),
        )
        .attribute(
            Attribute::optional_computed("replicas", Type::Number)
                .description("Number of pods. Default 1.")
                .default_value(Value::number(1i64))
                .validator(int_between(0, 50)),
        )
        .attribute(
            Attribute::optional("env", string_map())
                .description(
                    "Extra environment variables (not secret: use `database` and `secrets` for credentials). They \
                     override the engine's own variables of the same name.",
                ),
        )
        .attribute(
            labels("Extra labels on every object and pod."),
        )
        .attribute(
            Attribute::optional("pod_labels", string_map()).description(
                "Labels on the pods only (e.g. for a service mesh or cost allocation), besides `labels`.",
            ),
        )
        .attribute(
            Attribute::optional("pod_annotations", string_map()).description(
                "Annotations on the pods (e.g. `prometheus.io/scrape` or a log collector's settings). The \
                 resource's own pod annotations (the Secret checksum, `secret_version`) take precedence.",
            ),
        )
        .attribute(
            Attribute::optional("image_pull_secrets", Type::List(Box::new(Type::String)))
                .description(
                    "Secrets (`kubernetes.io/dockerconfigjson`) in the service's namespace to pull the image with, \
                     e.g. from an internal registry. They are referenced, never read.",
                )
                .validator(size_between(1, 10))
                .validator(each(matches(
                    SECRET_NAME_PATTERN,
                    "a Secret name (a DNS subdomain: lowercase letters, digits, - and .)",
                ))),
        )
        .attribute(
            Attribute::optional("priority_class_name", Type::String)
                .description("PriorityClass of the pods, e.g. to keep BI tools scheduled ahead of batch work.")
                .validator(matches(
                    SECRET_NAME_PATTERN,
                    "a PriorityClass name (a DNS subdomain: lowercase letters, digits, - and .)",
                )),
        )
        .attribute(pod_iam::associations_attribute())
        .block(pod_iam::iam_block("BI service"))
        .block(
            NestedBlock::single(
                "service_account",
                Block::new()
                    .description(
                        "The service account the pods run as. Created and owned by the service (with `annotations`, \
                         and IRSA's role annotation from `iam`), or an existing one with `create = false`, only \
                         referenced. Left out: the namespace's `default` account, or, with `iam`, one created and \
                         named after the service.",
                    )
                    .attribute(
                        Attribute::optional("name", Type::String)
                            .description("Name of the service account. Default: the service's name.")
                            .validator(matches(NAMESPACE_PATTERN, "a service account name (lowercase DNS label)")),
                    )
                    .attribute(
                        Attribute::optional_computed("create", Type::Bool)
                            .description(
                                "Create the service account, owned by the service (destroy deletes it). `false` uses \
                                 an existing one, which the service never changes. Default `true`.",
                            )
                            .default_value(Value::bool(true)),
                    )
                    .attribute(
                        Attribute::optional("annotations", string_map())
                            .description("Annotations on the created service account (e.g. IRSA's `eks.amazonaws.com/role-arn` when the role is managed elsewhere)."),
                    ),
            ),
        )
        .attribute(
            Attribute::optional("placement", scheduling_type())
                .description(
                    "Where the pods run: `node_selector` and `tolerations`. Pass a node group's `placement`, e.g. \
                     `dataplatform_nodegroup.infra.placement`.",
                ),
        )
        .attribute(
            Attribute::optional_computed("wait_for_rollout", Type::Bool)
                .description(
                    "Wait until the Deployment has rolled out (all replicas updated and available). A rollout \
                     that fails names the pod and the reason. Default `true`.",
                )
                .default_value(Value::bool(true)),
        )
        .attribute(
            Attribute::computed("effective_image", Type::String)
                .description("The image the pods run: `repository:tag`, engine defaults included."),
        )
        .attribute(
            Attribute::computed("url", Type::String).description(
                "Where users reach the service: `https://<ingress host>/` (`http://` without `certificate_arn` or `tls_secret_name`), or \
                 the in-cluster Service URL when there is no ingress.",
            ),
        )
        .attribute(
            Attribute::computed("load_balancer_hostname", Type::String).description(
                "The address the ingress controller gave the Ingress (`status.loadBalancer.ingress`): \
                 for an ALB class, the load balancer's DNS name, for a Route 53 alias or CNAME of `host`. \
                 Null until the controller has given one, and without an ingress.",
            ),
        )
        .attribute(
            Attribute::optional("secret_version", Type::String)
                .description(
                    "Rolls the pods when a Secret given by reference (`database.password_secret`, \
                     `secrets.*_secret`) changes: the value is written to the pod template as the annotation \
                     `dataplatform.io/secret-version`, so changing it (to the rotation date, the External \
                     Secret's or Secrets Manager version's id, ...) starts a rollout that reads the Secrets \
                     again. The provider never reads referenced Secrets, so it cannot see them change; pods \
                     keep the values they started with until this changes. Values the resource stores in its \
                     own Secret roll the pods by themselves (a checksum of that Secret is on the template).",
                )
                .validator(string_length(1, 256)),
        )
        .block(
            NestedBlock::single(
                "image",
                Block::new()
                    .description("Container image. Defaults to the engine's official image.")
                    .attribute(
                        Attribute::optional("repository", Type::String)
                            .description(
                                "Image repository, e.g. a mirror in ECR. Defaults: `metabase/metabase`, \
                                 `apache/superset`, `redash/redash`, `apache/zeppelin`.",
                            )
                            .validator(matches(r"^[a-z0-9]+([._/:-][a-z0-9]+)*$", "an image repository such as \"registry.example.com/analytics/metabase\"")),
                    )
                    .attribute(
                        Attribute::optional("tag", Type::String)
                            .description("Image tag. Defaults to a tested release of the engine.")
                            .validator(matches(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", "an image tag")),
                    )
                    .attribute(
                        Attribute::optional_computed("pull_policy", Type::String)
                            .description("`IfNotPresent` (default), `Always` or `Never`.")
                            .default_value(Value::string("IfNotPresent"))
                            .validator(one_of(&["IfNotPresent", "Always", "Never"])),
                    ),
            ),
        )
        .block(
            NestedBlock::single(
                "resources",
                Block::new()
                    .description(
                        "CPU and memory. Defaults by engine: Metabase and Zeppelin request 500m CPU and 2Gi, \
                         Superset and Redash 250m and 1Gi; the memory limit defaults to the request.",
                    )
                    .attribute(quantity("cpu_request", "CPU request, e.g. `500m`."))
                    .attribute(quantity("memory_request", "Memory request, e.g. `2Gi`."))
                    .attribute(quantity("cpu_limit", "CPU limit. None by default (throttling hurts JVM start-up)."))
                    .attribute(quantity("memory_limit", "Memory limit. Defaults to the memory request.")),
            ),
        )
        .block(
            NestedBlock::single(
                "database",
                Block::new()
                    .description(
                        "The external application database (e.g. RDS). Required for Superset and Redash; Metabase \
                         without it uses its embedded H2 database, which is lost with the pod; Zeppelin has none. \
                         Credentials go into a Secret, never into plain environment values; the password may \
                         also stay in an existing Secret (`password_secret`). Terraform 1.0.x \
                         crashes rendering an update plan when a value from a `sensitive` variable sits in this \
                         block (a Terraform bug fixed in later releases): there, pass the password from a variable \
                         not marked sensitive; the attribute is sensitive in the schema either way.",
                    )
                    .attribute(
                        Attribute::required("type", Type::String)
                            .description("`mysql` or `postgres` (Redash: `postgres` only).")
                            .validator(one_of(&["mysql", "postgres"])),
                    )
                    .attribute(
                        Attribute::required("host", Type::String)
                            .description("Database host name, e.g. the RDS endpoint address.")
                            .validator(matches(HOSTNAME_PATTERN, "a host name such as \"metabase.abc123.eu-central-1.rds.amazonaws.com\"")),
                    )
                    .attribute(
                        Attribute::optional_computed("port", Type::Number)
                            .description("Port. Defaults to 3306 for `mysql` and 5432 for `postgres`.")
                            .validator(int_between(1, 65535)),
                    )
                    .attribute(
                        Attribute::required("name", Type::String)
                            .description("Database name.")
                            .validator(matches(r"^[A-Za-z0-9_$-]{1,64}$", "a database name (letters, digits, _, $ and -, up to 64)")),
                    )
                    .attribute(
                        Attribute::required("username", Type::String)
                            .description("User name.")
                            .validator(string_length(1, 128)),
                    )
                    .attribute(
                        Attribute::optional("password", Type::String)
                            .description("Password. Kept in state (marked sensitive); prefer `password_wo` on Terraform 1.11 and later, or `password_secret`.")
                            .validator(string_length(1, 1024))
                            .sensitive(),
                    )
                    .attribute(
                        Attribute::optional("password_wo", Type::String)
                            .description(
                                "Write-only password: sent to the cluster, never stored in plan or state (Terraform \
                                 1.11 and later). Change `password_wo_version` to send a new one.",
                            )
                            .validator(string_length(1, 1024))
                            .sensitive()
                            .write_only(),
                    )
                    .attribute(
                        Attribute::optional("password_wo_version", Type::Number)
                            .description("Bump to apply a new `password_wo`.")
                            .validator(int_between(0, i64::from(i32::MAX))),
                    )
                    .attribute(
                        Attribute::optional("ssl", Type::String)
                            .description(
                                "PostgreSQL only: the client's `sslmode`, `require`, `verify-ca` or `verify-full` \
                                 (or `disable`), added to the connection: Metabase's JDBC URL \
                                 (`MB_DB_CONNECTION_URI`, with `MB_DB_USER` and `MB_DB_PASS` beside it, as \
                                 Metabase's application database documentation describes), Superset's \
                                 SQLAlchemy URI (psycopg2) and Redash's database URL. The RDS CA bundle is \
                                 in Metabase's image (`/app/certs`); `verify-*` needs the CA in the others. \
                                 For MySQL, give the driver's own parameters in `options`.",
                            )
                            .validator(one_of(&["disable", "require", "verify-ca", "verify-full"])),
                    )
                    .attribute(
                        Attribute::optional("options", string_map())
                            .description(
                                "Extra connection parameters, added (URL-encoded) to the query of the same \
                                 connection string as `ssl`, e.g. `{ connectTimeout = \"10\" }` for Metabase's \
                                 JDBC driver or `{ application_name = \"superset\" }` for psycopg2. Not for \
                                 credentials: they stay in the Secret.",
                            ),
                    )
                    .block(secret_ref(
                        "password_secret",
                        "The password from an existing Secret in the service's namespace (External Secrets, the \
                         RDS-managed master secret synced into the cluster, a Secrets Manager sync): the Deployment \
                         reads it with `secretKeyRef`; the provider never reads, stores or needs it at plan time. \
                         Superset and Redash take the database as a URL: the container composes it from the \
                         password with Kubernetes' `$(VAR)` expansion, so a referenced password is put into the URL \
                         as it is and must not hold URL-reserved characters (`@ : / ? # % [ ]`); Metabase takes \
                         the password alone and has no such limit.",
                    ))
                    .rule(Rule::at_least_one_of(&["password", "password_wo", "password_secret"]).message(
                        "Missing database password",
                        "Set password, password_wo (with password_wo_version) on Terraform 1.11 and later, or \
                         password_secret to take it from an existing Secret.",
                    ))
                    .rule(
                        Rule::conflicts_with("password_wo", &["password"])
                            .message("Conflicting arguments", "Set password or password_wo, not both."),
                    )
                    .rule(Rule::conflicts_with("password_secret", &["password", "password_wo"]).message(
                        "Conflicting arguments",
                        "password_secret takes the password from an existing Secret: set it or password / \
                         password_wo, not both.",
                    ))
                    .rule(
                        Rule::required_with("password_wo_version", &["password_wo"])
                            .message("Invalid argument", "password_wo_version only applies to password_wo."),
                    ),
            ),
        )
        .block(NestedBlock::single("secrets", secrets_block()))
        .block(
            NestedBlock::single(
                "ingress",
                crate::resources::ingress::block(HealthCheck::Derived(
                    "Defaults to the engine's health endpoint, the one its readiness probe uses: Metabase \
                     `/api/health`, Superset `/health`, Redash `/ping`, Zeppelin `/api/version`.",
                )),
            ),
        )
        .block(
            NestedBlock::single(
                "monitoring",
                Block::new()
                    .description(
                        "Prometheus Operator objects: a ServiceMonitor scraping the engine's metrics, and a \
                         PrometheusRule alerting when pods restart too often, run close to their memory limit or \
                         are CPU throttled. Metabase (0.46 or later) gets `MB_PROMETHEUS_SERVER_PORT=9191`, as in \
                         the community chart, and a `metrics` port on its container and Service, which the \
                         ServiceMonitor scrapes; Zeppelin gets `ZEPPELIN_METRIC_ENABLE_PROMETHEUS=true` and is \
                         scraped on its web port. Superset and Redash serve no Prometheus metrics: they get the \
                         PrometheusRule only, and the plan warns so. Sent without needing the CRDs at plan time.",
                    )
                    .attribute(
                        Attribute::optional_computed("enabled", Type::Bool)
                            .description("Default `true` when the block is present.")
                            .default_value(Value::bool(true)),
                    )
                    .attribute(
                        Attribute::optional_computed("metrics_path", Type::String)
                            .description("Path the ServiceMonitor scrapes. Default `/metrics`.")
                            .default_value(Value::string("/metrics"))
                            .validator(matches(PATH_PATTERN, "a path starting with /")),
                    )
                    .attribute(
                        Attribute::optional_computed("restart_threshold", Type::Number)
                            .description("Alert when a pod restarts more than this many times in 15 minutes. Default 3.")
                            .default_value(Value::number(3i64))
                            .validator(int_between(1, 1000)),
                    ),
            ),
        )
        .block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
            ("delete", DEFAULT_TIMEOUT),
        ]))
}

/// The engine secrets, each given as a value (kept in state), a write-only value with its
/// version, or a reference to an existing Secret: one source each.
fn secrets_block() -> Block {
    let mut b = Block::new().description(
        "Engine secrets: Superset needs `secret_key` and uses `redis_url` for caching and async queries; \
         Redash needs `secret_key`, `cookie_secret` and `redis_url`; Metabase uses `encryption_key`. Each \
         comes from one source: the value itself (stored in the service's Secret and, marked sensitive, in \
         state), a write-only `<name>_wo` with its `<name>_wo_version` (Terraform 1.11 and later: sent to the \
         service's Secret, never stored in plan or state), or `<name>_secret`, a key of an existing Secret \
         in the service's namespace that the Deployment reads directly (the provider never reads it). Each \
         write-only secret has a version of its own, required with it: the version in state is what tells a \
         refresh that the secret is set, and bumping one sends the current write-only values again.",
    );
    for (name, what, validator_kind) in SECRETS {
        let value = |n: &str| -> Attribute {
            let a = Attribute::optional(n, Type::String);
            match validator_kind {
                SecretFormat::Key => a.validator(string_length(16, 1024)),
                SecretFormat::RedisUrl => a.validator(matches(
                    r"^rediss?://[^\s]+$",
                    "a redis:// or rediss:// URL",
                )),
            }
        };
        let wo = format!("{name}_wo");
        let version = format!("{name}_wo_version");
        let reference = format!("{name}_secret");
        b = b
            .attribute(value(name).description(format!("{what} Kept in state (marked sensitive); prefer `{wo}` or `{reference}`.")).sensitive())
            .attribute(
                value(&wo)
                    .description(format!(
                        "Write-only `{name}`: sent to the service's Secret, never stored in plan or state \
                         (Terraform 1.11 and later). Requires `{version}`; change the version to send a new value."
                    ))
                    .sensitive()
                    .write_only(),
            )
            .attribute(
                Attribute::optional(&version, Type::Number)
                    .description(format!("The version of `{wo}`: bump it to apply a new value."))
                    .validator(int_between(0, i64::from(i32::MAX))),
            )
            .block(secret_ref(
                &reference,
                &format!("`{name}` from an existing Secret in the service's namespace: the Deployment reads it with `secretKeyRef`; the provider never reads, stores or needs it at plan time. Change `secret_version` to roll the pods after it changes."),
            ))
            .rule(Rule::conflicts_with(&wo, &[name]).message(
                "Conflicting arguments",
                &format!("Set {name} or {wo}, not both."),
            ))
            .rule(Rule::conflicts_with(&reference, &[name, &wo]).message(
                "Conflicting arguments",
                &format!("{reference} takes {name} from an existing Secret: set it or {name} / {wo}, not both."),
            ))
            .rule(Rule::required_with(&version, &[&wo]).message(
                "Invalid argument",
                &format!("{version} only applies to {wo}."),
            ))
            .rule(Rule::required_with(&wo, &[&version]).message(
                "Missing write-only version",
                &format!("Set {version} with {wo} (bump it to send a new value)."),
            ));
    }
    b
}

enum SecretFormat {
    Key,
    RedisUrl,
}

const SECRETS: [(&str, &str, SecretFormat); 4] = [
    ("secret_key", "`SUPERSET_SECRET_KEY` / `REDASH_SECRET_KEY`: signs sessions; keep it stable.", SecretFormat::Key),
    ("cookie_secret", "`REDASH_COOKIE_SECRET`.", SecretFormat::Key),
    (
        "encryption_key",
        "`MB_ENCRYPTION_SECRET_KEY`: Metabase encrypts the connection details of the databases it queries \
         with it. Keep it stable: saved connections cannot be read with another key. At least 16 characters.",
        SecretFormat::Key,
    ),
    ("redis_url", "Redis URL, e.g. `redis://analytics.abc.cache.amazonaws.com:6379/0`.", SecretFormat::RedisUrl),
];

/// A key of an existing Secret in the service's namespace.
fn secret_ref(block_name: &str, description: &str) -> NestedBlock {
    NestedBlock::single(
        block_name,
        Block::new()
            .description(description)
            .attribute(
                Attribute::required("name", Type::String)
                    .description("The Secret's name, in the service's namespace.")
                    .validator(string_length(1, 253))
                    .validator(matches(
                        SECRET_NAME_PATTERN,
                        "a Secret name (a DNS subdomain: lowercase letters, digits, - and .)",
                    )),
            )
            .attribute(
                Attribute::required("key", Type::String)
                    .description("The key in the Secret's data.")
                    .validator(string_length(1, 253))
                    .validator(matches(
                        SECRET_KEY_PATTERN,
                        "a Secret data key (letters, digits, -, _ and .)",
                    )),
            ),
    )
}

fn quantity(name: &str, description: &str) -> Attribute {
    Attribute::optional(name, Type::String)
        .description(description)
        .validator(matches(
            QUANTITY_PATTERN,
            "a Kubernetes quantity such as \"500m\", \"2\" or \"2Gi\"",
        ))
}

/// Env maps are validated for their keys here (validators see whole values).
pub fn env_names_valid(names: impl Iterator<Item = String>) -> Vec<String> {
    let re = regex::Regex::new(ENV_NAME_PATTERN).ok();
    names
        .filter(|n| !re.as_ref().is_some_and(|r| r.is_match(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        let problems = schema().check();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn patterns_accept_and_reject() {
        let ok = |p: &str, s: &str| regex::Regex::new(p).is_ok_and(|r| r.is_match(s));
        assert!(ok(HOSTNAME_PATTERN, "metabase.analytics.example.com"));
        assert!(ok(HOSTNAME_PATTERN, "*.example.com"));
        assert!(!ok(HOSTNAME_PATTERN, "bad host.example.com"));
        assert!(!ok(HOSTNAME_PATTERN, "-bad.example.com"));
        assert!(ok(CERTIFICATE_ARN_PATTERN, "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"));
        assert!(!ok(
            CERTIFICATE_ARN_PATTERN,
            "arn:aws:iam::123456789012:role/x"
        ));
        assert!(ok(
            WAFV2_ACL_ARN_PATTERN,
            "arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/analytics/a1b2c3d4-5678-90ab-cdef-111122223333"
        ));
        assert!(ok(
            WAFV2_ACL_ARN_PATTERN,
            "arn:aws-us-gov:wafv2:us-gov-west-1:123456789012:regional/webacl/bi_acl-1/a1b2c3d4"
        ));
        for bad in [
            // CloudFront's ACLs are global: an ALB cannot use them.
            "arn:aws:wafv2:us-east-1:123456789012:global/webacl/analytics/a1b2c3d4",
            // WAF Classic.
            "arn:aws:waf-regional:eu-central-1:123456789012:webacl/a1b2c3d4",
            "arn:aws:wafv2:eu-central-1:12345:regional/webacl/analytics/a1b2c3d4",
            "arn:aws:wafv2:eu-central-1:123456789012:regional/ipset/analytics/a1b2c3d4",
            "arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/analytics",
            "arn:aws:wafv2:eu-central-1:123456789012:regional/webacl/analytics/a1b2c3d4\n",
        ] {
            assert!(!ok(WAFV2_ACL_ARN_PATTERN, bad), "{bad}");
        }
        assert!(ok(SECRET_NAME_PATTERN, "metabase-tls"));
        assert!(ok(SECRET_NAME_PATTERN, "metabase.example.com-tls"));
        assert!(!ok(SECRET_NAME_PATTERN, "Metabase_TLS"));
        assert!(ok(HEALTH_CHECK_PATH_PATTERN, "/api/health"));
        assert!(!ok(HEALTH_CHECK_PATH_PATTERN, "/api/*"));
        assert!(!ok(HEALTH_CHECK_PATH_PATTERN, "api/health"));
        assert!(ok(QUANTITY_PATTERN, "500m"));
        assert!(ok(QUANTITY_PATTERN, "2Gi"));
        assert!(ok(QUANTITY_PATTERN, "1.5"));
        assert!(!ok(QUANTITY_PATTERN, "2 GB"));
        assert!(ok(DNS_LABEL, "metabase"));
        assert!(!ok(DNS_LABEL, "Metabase"));
        assert_eq!(
            env_names_valid(["OK_1".to_string(), "1 bad".to_string()].into_iter()),
            vec!["1 bad".to_string()]
        );
    }
}
