//! Validation of a BI service's configuration beyond what its schema declares: what the
//! engine needs and allows, environment variable names and labels. The configuration is read
//! into [`Checked`]; anything not known yet is checked at apply's plan instead.

use std::collections::BTreeMap;

use crate::framework::{Diagnostic, Diagnostics, Field, FromValue};
use crate::resources::common::{LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN};
use crate::value::{AttributePath, Value};

use super::engines::{Engine, Metrics};
use super::schema;

crate::model! {
    /// What validation reads of a configuration (any of it may not be known yet).
    pub struct Checked {
        engine: Field<String>,
        database: Field<DatabaseType>,
        monitoring: Field<Enabled>,
        secrets: Field<Secrets>,
        env: Field<BTreeMap<String, Value>>,
        labels: Field<BTreeMap<String, Field<String>>>,
        pod_labels: Field<BTreeMap<String, Field<String>>>,
        pod_annotations: Field<BTreeMap<String, Value>>,
    }
}

crate::model! {
    struct DatabaseType {
        r#type: Field<String>,
    }
}

crate::model! {
    struct Enabled {
        enabled: Field<bool>,
    }
}

crate::model! {
    /// Each engine secret in its three forms: value, write-only value, Secret reference.
    struct Secrets {
        secret_key: Field<Value>,
        secret_key_wo: Field<Value>,
        secret_key_secret: Field<Value>,
        cookie_secret: Field<Value>,
        cookie_secret_wo: Field<Value>,
        cookie_secret_secret: Field<Value>,
        redis_url: Field<Value>,
        redis_url_wo: Field<Value>,
        redis_url_secret: Field<Value>,
        encryption_key: Field<Value>,
        encryption_key_wo: Field<Value>,
        encryption_key_secret: Field<Value>,
    }
}

/// The engine secrets by attribute name.
const SECRET_NAMES: [&str; 4] = ["secret_key", "cookie_secret", "redis_url", "encryption_key"];

impl Secrets {
    /// The attribute `secrets.<name>` is given by: itself, its write-only form or its
    /// Secret reference (a value not known yet counts). `None` when not given.
    fn given(&self, name: &str) -> Option<&'static str> {
        let forms: [(&Field<Value>, &'static str); 3] = match name {
            "secret_key" => [
                (&self.secret_key, "secret_key"),
                (&self.secret_key_wo, "secret_key_wo"),
                (&self.secret_key_secret, "secret_key_secret"),
            ],
            "cookie_secret" => [
                (&self.cookie_secret, "cookie_secret"),
                (&self.cookie_secret_wo, "cookie_secret_wo"),
                (&self.cookie_secret_secret, "cookie_secret_secret"),
            ],
            "redis_url" => [
                (&self.redis_url, "redis_url"),
                (&self.redis_url_wo, "redis_url_wo"),
                (&self.redis_url_secret, "redis_url_secret"),
            ],
            "encryption_key" => [
                (&self.encryption_key, "encryption_key"),
                (&self.encryption_key_wo, "encryption_key_wo"),
                (&self.encryption_key_secret, "encryption_key_secret"),
            ],
            _ => return None,
        };
        forms.iter().find(|(f, _)| f.is_set()).map(|(_, n)| *n)
    }
}

/// Every check, with its diagnostics at the attributes they are about.
pub fn check(config: &Value, diags: &mut Diagnostics) {
    match Checked::read(config) {
        Ok(c) => {
            check_engine(&c, diags);
            check_maps(&c, diags);
        }
        Err(d) => diags.push(d),
    }
    super::pod::check(config, diags);
    check_connection(config, diags);
    match References::read(config) {
        Ok(r) => check_references(&r, diags),
        Err(d) => diags.push(d),
    }
    match Identity::read(config) {
        Ok(i) => check_identity(&i, diags),
        Err(d) => diags.push(d),
    }
}

crate::model! {
    /// The pods' service account and IAM role.
    struct Identity {
        service_account: Field<ServiceAccountGiven>,
        iam: Field<IamGiven>,
    }
}

crate::model! {
    struct ServiceAccountGiven {
        create: Field<bool>,
        annotations: Field<Value>,
    }
}

crate::model! {
    struct IamGiven {
        mechanism: Field<String>,
    }
}

/// An existing service account is only referenced: the resource writes nothing on it, so
/// neither annotations nor IRSA's role annotation can go there.
fn check_identity(i: &Identity, diags: &mut Diagnostics) {
    let Some(sa) = i.service_account.known() else {
        return;
    };
    if sa.create.known() != Some(&false) {
        return;
    }
    let at = AttributePath::root().attr("service_account");
    if sa.annotations.is_set() {
        diags.attribute_error(
            at.clone().attr("annotations"),
            "Annotations on a service account the service does not create",
            "With create = false the service account exists already and the service never changes it: annotate \
             it where it is made, or remove annotations.",
        );
    }
    if i.iam
        .known()
        .and_then(|iam| iam.mechanism.known())
        .map(String::as_str)
        == Some("irsa")
    {
        diags.attribute_error(
            AttributePath::root().attr("iam").attr("mechanism"),
            "IRSA on a service account the service does not create",
            "IRSA is an annotation on the service account, which the service writes only on one it creates: set \
             service_account.create = true, annotate the existing account where it is made, or use \
             mechanism = \"pod_identity\".",
        );
    }
}

crate::model! {
    /// The Secrets a configuration references, and the service's name (its own Secret's).
    struct References {
        name: Field<String>,
        database: Field<DatabaseReference>,
        secrets: Field<SecretReferences>,
    }
}

crate::model! {
    struct DatabaseReference {
        password_secret: Field<ReferenceName>,
    }
}

crate::model! {
    struct SecretReferences {
        secret_key_secret: Field<ReferenceName>,
        cookie_secret_secret: Field<ReferenceName>,
        redis_url_secret: Field<ReferenceName>,
        encryption_key_secret: Field<ReferenceName>,
    }
}

crate::model! {
    struct ReferenceName {
        name: Field<String>,
    }
}

/// A reference must name a Secret made by something else: the one named after the service is
/// the resource's own, which it writes, and deletes on destroy.
fn check_references(r: &References, diags: &mut Diagnostics) {
    let Some(service) = r.name.known() else {
        return;
    };
    let mut found: Vec<(AttributePath, &Field<ReferenceName>)> = Vec::new();
    if let Field::Known(db) = &r.database {
        found.push((
            AttributePath::root()
                .attr("database")
                .attr("password_secret"),
            &db.password_secret,
        ));
    }
    if let Field::Known(s) = &r.secrets {
        let at = |n: &str| AttributePath::root().attr("secrets").attr(n);
        found.extend([
            (at("secret_key_secret"), &s.secret_key_secret),
            (at("cookie_secret_secret"), &s.cookie_secret_secret),
            (at("redis_url_secret"), &s.redis_url_secret),
            (at("encryption_key_secret"), &s.encryption_key_secret),
        ]);
    }
    for (path, reference) in found {
        let named = reference.known().and_then(|r| r.name.known());
        if named == Some(service) {
            diags.attribute_error(
                path.attr("name"),
                "Reference to the service's own Secret",
                format!(
                    "The Secret {service:?} is the one this resource writes for the service (and \
                     deletes on destroy): reference a Secret made by something else, or give the value."
                ),
            );
        }
    }
}

fn check_engine(c: &Checked, diags: &mut Diagnostics) {
    let Some(engine) = c.engine.known().and_then(|e| Engine::parse(e)) else {
        return;
    };
    match &c.database {
        Field::Null if engine.needs_database() => diags.attribute_error(
            AttributePath::root().attr("engine"),
            "Missing database",
            format!(
                "{} keeps its metadata in an external database: add a database block.",
                engine.name()
            ),
        ),
        Field::Known(_) | Field::Unknown if !engine.supports_database() => diags.attribute_error(
            AttributePath::root().attr("database").attr("type"),
            "Unsupported database",
            format!(
                "{} has no application database: remove the database block.",
                engine.name()
            ),
        ),
        _ => {}
    }
    if let Field::Known(d) = &c.database {
        if engine == Engine::Redash && d.r#type.known().map(String::as_str) == Some("mysql") {
            diags.attribute_error(
                AttributePath::root().attr("database").attr("type"),
                "Unsupported database type",
                "Redash stores its metadata in PostgreSQL only: use type = \"postgres\".",
            );
        }
    }
    let monitored = match &c.monitoring {
        Field::Null => false,
        Field::Unknown => true,
        Field::Known(m) => m.enabled.known() != Some(&false),
    };
    if monitored && engine.metrics() == Metrics::NotServed {
        diags.push(
            Diagnostic::warning(
                "No metrics endpoint to scrape",
                format!(
                    "{} serves no Prometheus metrics: monitoring creates the PrometheusRule only \
                     (restarts, memory and CPU throttling, from kube-state-metrics and cAdvisor), \
                     and no ServiceMonitor.",
                    engine.name()
                ),
            )
            .at(AttributePath::root().attr("monitoring")),
        );
    }
    let secrets = match &c.secrets {
        Field::Unknown => return,
        Field::Null => None,
        Field::Known(s) => Some(s),
    };
    let given = |n: &str| secrets.and_then(|s| s.given(n));
    let (required, allowed) = engine.secret_keys();
    for n in required {
        if given(n).is_none() {
            diags.attribute_error(
                AttributePath::root().attr("secrets").attr(*n),
                "Missing engine secret",
                format!(
                    "{} needs secrets.{n} (or {n}_wo, or {n}_secret to take it from an existing Secret).",
                    engine.name()
                ),
            );
        }
    }
    for n in SECRET_NAMES {
        if let Some(form) = given(n).filter(|_| !allowed.contains(&n)) {
            diags.attribute_error(
                AttributePath::root().attr("secrets").attr(form),
                "Unused engine secret",
                format!("{} does not use secrets.{form}: remove it.", engine.name()),
            );
        }
    }
}

fn check_maps(c: &Checked, diags: &mut Diagnostics) {
    if let Field::Known(env) = &c.env {
        for bad in schema::env_names_valid(env.keys().cloned()) {
            diags.attribute_error(
                AttributePath::root().attr("env").key(&bad),
                "Invalid environment variable name",
                format!("{bad:?} is not a valid environment variable name (letters, digits, _, - and ., not starting with a digit)."),
            );
        }
    }
    let label_key = regex::Regex::new(LABEL_KEY_PATTERN).ok();
    if let Field::Known(annotations) = &c.pod_annotations {
        for k in annotations.keys() {
            if !label_key.as_ref().is_some_and(|r| r.is_match(k)) {
                diags.attribute_error(
                    AttributePath::root().attr("pod_annotations").key(k),
                    "Invalid annotation",
                    format!("{k:?} is not a valid annotation key (an optional DNS prefix and /, then up to 63 letters, digits, -, _ and .)."),
                );
            }
        }
    }
    for (name, labels) in [("labels", &c.labels), ("pod_labels", &c.pod_labels)] {
        check_labels(name, labels, diags);
    }
}

fn check_labels(
    name: &str,
    labels: &Field<BTreeMap<String, Field<String>>>,
    diags: &mut Diagnostics,
) {
    let label_key = regex::Regex::new(LABEL_KEY_PATTERN).ok();
    let label_value = regex::Regex::new(LABEL_VALUE_PATTERN).ok();
    let Field::Known(labels) = labels else {
        return;
    };
    for (k, v) in labels {
        if !label_key.as_ref().is_some_and(|r| r.is_match(k)) || k.starts_with("app.kubernetes.io/")
        {
            diags.attribute_error(
                AttributePath::root().attr(name).key(k),
                "Invalid label",
                format!("{k:?} is not a label key this resource can set (a valid Kubernetes label key outside app.kubernetes.io/)."),
            );
        }
        if let Field::Known(s) = v {
            if !label_value.as_ref().is_some_and(|r| r.is_match(s)) {
                diags.attribute_error(
                    AttributePath::root().attr(name).key(k),
                    "Invalid label value",
                    format!("{s:?} is not a valid label value (up to 63 letters, digits, -, _ and ., starting and ending alphanumeric)."),
                );
            }
        }
    }
}

crate::model! {
    /// The connection settings of the database block.
    struct ConnectionChecked {
        database: Field<Connection>,
    }
}

crate::model! {
    struct Connection {
        r#type: Field<String>,
        ssl: Field<Value>,
        options: Field<BTreeMap<String, Value>>,
    }
}

/// Parameter names that would carry credentials, which belong in the Secret.
const CREDENTIAL_OPTIONS: [&str; 3] = ["user", "password", "passfile"];

/// `database.ssl` is PostgreSQL's; `database.options` are parameter names that neither
/// repeat `ssl` nor carry credentials.
fn check_connection(config: &Value, diags: &mut Diagnostics) {
    let Ok(ConnectionChecked {
        database: Field::Known(db),
    }) = ConnectionChecked::read(config)
    else {
        return;
    };
    if db.ssl.is_set() && db.r#type.known().map(String::as_str) == Some("mysql") {
        diags.attribute_error(
            AttributePath::root().attr("database").attr("ssl"),
            "Not a MySQL setting",
            "ssl sets PostgreSQL's sslmode: for MySQL, give the driver's own parameters in options \
             (e.g. sslMode for Metabase's JDBC driver).",
        );
    }
    let Field::Known(options) = &db.options else {
        return;
    };
    let name = regex::Regex::new(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$").ok();
    for k in options.keys() {
        let at = AttributePath::root()
            .attr("database")
            .attr("options")
            .key(k);
        if !name.as_ref().is_some_and(|r| r.is_match(k)) {
            diags.attribute_error(
                at,
                "Invalid connection parameter",
                format!(
                    "{k:?} is not a parameter name (a letter, then letters, digits, _, . and -)."
                ),
            );
        } else if CREDENTIAL_OPTIONS.contains(&k.to_ascii_lowercase().as_str()) {
            diags.attribute_error(
                at,
                "Credentials in options",
                format!("{k} would put a credential in the connection string: use username and password (or password_secret)."),
            );
        } else if k == "sslmode" && db.ssl.is_set() {
            diags.attribute_error(
                at,
                "Conflicting arguments",
                "sslmode is set by ssl: set one of them.",
            );
        }
    }
}
