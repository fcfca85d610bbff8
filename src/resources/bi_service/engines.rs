//! What each BI engine needs: image, port, health probe, resources, and how the database and
//! engine secrets map onto its environment.

use std::collections::BTreeMap;

use super::model::{Database, DbKind, SecretRef, Source, Spec};

pub const ENGINES: &[&str] = &["metabase", "superset", "redash", "zeppelin"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Metabase,
    Superset,
    Redash,
    Zeppelin,
}

/// Where an engine serves Prometheus metrics once `monitoring` turns them on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metrics {
    /// On a port of its own, named `metrics` on the container and the Service.
    OwnPort(u16),
    /// On the web port (`http`).
    WebPort,
    /// Nowhere: monitoring is the PrometheusRule on kube-state-metrics and cAdvisor signals.
    NotServed,
}

/// The port name the ServiceMonitor scrapes when an engine has a metrics port of its own.
pub const METRICS_PORT_NAME: &str = "metrics";

/// An environment variable: a plain value, a key of the service's Secret, a key of an
/// existing Secret, or a value composed from variables listed before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    Plain(String),
    Secret(String),
    /// A key of an existing Secret the provider never reads (`*_secret` blocks).
    Ref(SecretRef),
    /// A value with `$(VAR)` references, which Kubernetes expands from variables defined
    /// earlier in the container's list: rendered after all the others.
    Composed(String),
}

/// The variable holding a referenced database password for an engine that takes its
/// database as a URL composed from it (Redash has no password variable of its own).
pub const COMPOSED_PASSWORD_VAR: &str = "DATAPLATFORM_DATABASE_PASSWORD";

impl Engine {
    pub fn parse(s: &str) -> Option<Engine> {
        match s {
            "metabase" => Some(Engine::Metabase),
            "superset" => Some(Engine::Superset),
            "redash" => Some(Engine::Redash),
            "zeppelin" => Some(Engine::Zeppelin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Metabase => "metabase",
            Engine::Superset => "superset",
            Engine::Redash => "redash",
            Engine::Zeppelin => "zeppelin",
        }
    }

    pub fn default_repository(self) -> &'static str {
        match self {
            Engine::Metabase => "metabase/metabase",
            Engine::Superset => "apache/superset",
            Engine::Redash => "redash/redash",
            Engine::Zeppelin => "apache/zeppelin",
        }
    }

    pub fn default_tag(self) -> &'static str {
        match self {
            Engine::Metabase => "v0.50.36",
            Engine::Superset => "4.1.2",
            Engine::Redash => "10.1.0.b50633",
            Engine::Zeppelin => "0.11.2",
        }
    }

    pub fn port(self) -> u16 {
        match self {
            Engine::Metabase => 3000,
            Engine::Superset => 8088,
            Engine::Redash => 5000,
            Engine::Zeppelin => 8080,
        }
    }

    /// The endpoint the readiness and liveness probes ask, and the ALB's health check by
    /// default (`ingress.health_check_path`): one answer to "is it up" for both.
    pub fn health_path(self) -> &'static str {
        match self {
            Engine::Metabase => "/api/health",
            Engine::Superset => "/health",
            Engine::Redash => "/ping",
            Engine::Zeppelin => "/api/version",
        }
    }

    /// Where the engine serves Prometheus metrics. Metabase (0.46 and later) serves them on
    /// the port `MB_PROMETHEUS_SERVER_PORT` names, 9191 as in the community Helm chart;
    /// Zeppelin on its web port at `/metrics` once `ZEPPELIN_METRIC_ENABLE_PROMETHEUS` is
    /// true; Superset and Redash serve none (Superset only emits StatsD).
    pub fn metrics(self) -> Metrics {
        match self {
            Engine::Metabase => Metrics::OwnPort(9191),
            Engine::Zeppelin => Metrics::WebPort,
            Engine::Superset | Engine::Redash => Metrics::NotServed,
        }
    }

    /// Seconds before the first liveness probe: JVM engines start slowly.
    pub fn start_seconds(self) -> i64 {
        match self {
            Engine::Metabase | Engine::Zeppelin => 120,
            Engine::Superset | Engine::Redash => 30,
        }
    }

    /// Default (cpu request, memory request).
    pub fn default_resources(self) -> (&'static str, &'static str) {
        match self {
            Engine::Metabase | Engine::Zeppelin => ("500m", "2Gi"),
            Engine::Superset | Engine::Redash => ("250m", "1Gi"),
        }
    }

    /// The container's arguments, when the image needs them.
    pub fn args(self) -> Vec<String> {
        match self {
            Engine::Redash => vec!["server".into()],
            _ => Vec::new(),
        }
    }

    pub fn needs_database(self) -> bool {
        matches!(self, Engine::Superset | Engine::Redash)
    }

    pub fn supports_database(self) -> bool {
        !matches!(self, Engine::Zeppelin)
    }

    /// Which `secrets` attributes the engine requires and which it can use.
    pub fn secret_keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Engine::Superset => (&["secret_key"], &["secret_key", "redis_url"]),
            Engine::Redash => (
                &["secret_key", "cookie_secret", "redis_url"],
                &["secret_key", "cookie_secret", "redis_url"],
            ),
            Engine::Metabase => (&[], &["encryption_key"]),
            Engine::Zeppelin => (&[], &[]),
        }
    }
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `password` as it goes into the URL: escaped, or a `$(VAR)` reference.
fn db_url(scheme: &str, db: &Database, password: &str) -> String {
    format!(
        "{scheme}://{}:{}@{}:{}/{}{}",
        url_escape(&db.username),
        password,
        db.host,
        db.port,
        db.name,
        db_query(db)
    )
}

/// `?sslmode=...&key=value` from `database.ssl` and `database.options`, or nothing. The
/// options come after `sslmode` and may not repeat it (checked at plan).
fn db_query(db: &Database) -> String {
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(mode) = &db.ssl {
        params.push(("sslmode".into(), mode.clone()));
    }
    params.extend(db.options.iter().map(|(k, v)| (k.clone(), v.clone())));
    if params.is_empty() {
        return String::new();
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", url_escape(k), url_escape(v)))
        .collect();
    format!("?{}", query.join("&"))
}

/// An engine's environment as it is built: plain values, and values that live in the Secret
/// and are referred to by key.
#[derive(Default)]
struct Wiring {
    env: BTreeMap<String, EnvValue>,
    secret: BTreeMap<String, String>,
}

impl Wiring {
    fn plain(&mut self, name: &str, value: impl Into<String>) {
        self.env
            .insert(name.to_string(), EnvValue::Plain(value.into()));
    }

    fn hidden(&mut self, name: &str, key: &str, value: impl Into<String>) {
        self.secret.insert(key.to_string(), value.into());
        self.env
            .insert(name.to_string(), EnvValue::Secret(key.to_string()));
    }

    /// An engine secret: into the service's Secret under `key`, or read from the
    /// existing Secret it references.
    fn source(&mut self, name: &str, key: &str, source: Option<&Source>) {
        match source {
            Some(Source::Value(v)) => self.hidden(name, key, v.clone()),
            Some(Source::Secret(r)) => {
                self.env.insert(name.to_string(), EnvValue::Ref(r.clone()));
            }
            None => {}
        }
    }

    /// The database password under `name`: from the service's Secret, or the existing one.
    fn password(&mut self, name: &str, db: &Database, pass: &str) {
        match &db.password_secret {
            Some(r) => {
                self.env.insert(name.to_string(), EnvValue::Ref(r.clone()));
            }
            None => self.hidden(name, "database-password", pass),
        }
    }

    /// A database URL with the password in it: in the service's Secret, or, when the
    /// password is a reference, composed in the container from the variable `password_var`
    /// (which must be set with [`Wiring::password`]).
    fn database_url(
        &mut self,
        name: &str,
        scheme: &str,
        db: &Database,
        pass: &str,
        password_var: &str,
    ) {
        if db.password_secret.is_some() {
            let url = db_url(scheme, db, &format!("$({password_var})"));
            self.env.insert(name.to_string(), EnvValue::Composed(url));
        } else {
            self.hidden(name, "database-url", db_url(scheme, db, &url_escape(pass)));
        }
    }
}

/// The engine's environment and the data of its Secret. The user's `env` comes last and
/// overrides the engine's own variables.
pub fn wiring(
    spec: &Spec,
    password: Option<&str>,
) -> (BTreeMap<String, EnvValue>, BTreeMap<String, String>) {
    let mut w = Wiring::default();
    let pass = password.unwrap_or_default();
    match spec.engine {
        Engine::Metabase => {
            metabase(&mut w, spec, pass);
            metabase_secrets(&mut w, spec);
        }
        Engine::Superset => superset(&mut w, spec, pass),
        Engine::Redash => redash(&mut w, spec, pass),
        Engine::Zeppelin => zeppelin(&mut w),
    }
    if spec.monitoring.is_some() {
        metrics(&mut w, spec.engine);
    }
    for (k, v) in super::pod::engine_env(spec.engine, &spec.pod) {
        w.plain(k, v);
    }
    for (k, v) in &spec.env {
        w.plain(k, v.clone());
    }
    (w.env, w.secret)
}

/// Without a database Metabase falls back to its embedded H2.
fn metabase(w: &mut Wiring, spec: &Spec, pass: &str) {
    w.plain("MB_JETTY_PORT", "3000");
    let Some(db) = &spec.database else {
        w.plain("MB_DB_TYPE", "h2");
        return;
    };
    let kind = match db.kind {
        DbKind::Mysql => "mysql",
        DbKind::Postgres => "postgres",
    };
    w.plain("MB_DB_TYPE", kind);
    let query = db_query(db);
    if query.is_empty() {
        w.plain("MB_DB_HOST", db.host.clone());
        w.plain("MB_DB_PORT", db.port.to_string());
        w.plain("MB_DB_DBNAME", db.name.clone());
    } else {
        // Connection parameters need the JDBC URL; the credentials stay in their own
        // variables (Metabase reads MB_DB_USER and MB_DB_PASS beside the URI).
        let jdbc = match db.kind {
            DbKind::Mysql => "mysql",
            DbKind::Postgres => "postgresql",
        };
        w.plain(
            "MB_DB_CONNECTION_URI",
            format!("jdbc:{jdbc}://{}:{}/{}{query}", db.host, db.port, db.name),
        );
    }
    w.hidden("MB_DB_USER", "database-username", db.username.clone());
    w.password("MB_DB_PASS", db, pass);
}

fn metabase_secrets(w: &mut Wiring, spec: &Spec) {
    w.source(
        "MB_ENCRYPTION_SECRET_KEY",
        "encryption-key",
        spec.secrets.encryption_key.as_ref(),
    );
}

fn superset(w: &mut Wiring, spec: &Spec, pass: &str) {
    if let Some(db) = &spec.database {
        let (dialect, driver) = match db.kind {
            DbKind::Mysql => ("mysql", "mysql+mysqldb"),
            DbKind::Postgres => ("postgresql", "postgresql+psycopg2"),
        };
        w.plain("DATABASE_DIALECT", dialect);
        w.plain("DATABASE_HOST", db.host.clone());
        w.plain("DATABASE_PORT", db.port.to_string());
        w.plain("DATABASE_DB", db.name.clone());
        w.hidden("DATABASE_USER", "database-username", db.username.clone());
        w.password("DATABASE_PASSWORD", db, pass);
        w.database_url(
            "SQLALCHEMY_DATABASE_URI",
            driver,
            db,
            pass,
            "DATABASE_PASSWORD",
        );
    }
    let s = &spec.secrets;
    w.source("SUPERSET_SECRET_KEY", "secret-key", s.secret_key.as_ref());
    w.source("REDIS_URL", "redis-url", s.redis_url.as_ref());
}

fn redash(w: &mut Wiring, spec: &Spec, pass: &str) {
    if let Some(db) = &spec.database {
        // Redash reads the database from the URL only: a referenced password gets a
        // variable of its own to compose the URL from.
        if db.password_secret.is_some() {
            w.password(COMPOSED_PASSWORD_VAR, db, pass);
        }
        w.database_url(
            "REDASH_DATABASE_URL",
            "postgresql",
            db,
            pass,
            COMPOSED_PASSWORD_VAR,
        );
    }
    let s = &spec.secrets;
    w.source("REDASH_REDIS_URL", "redis-url", s.redis_url.as_ref());
    w.source("REDASH_SECRET_KEY", "secret-key", s.secret_key.as_ref());
    w.source(
        "REDASH_COOKIE_SECRET",
        "cookie-secret",
        s.cookie_secret.as_ref(),
    );
    w.plain("REDASH_WEB_WORKERS", "4");
    w.plain("PYTHONUNBUFFERED", "0");
}

/// Turns on the engine's Prometheus endpoint.
fn metrics(w: &mut Wiring, engine: Engine) {
    match (engine, engine.metrics()) {
        (Engine::Metabase, Metrics::OwnPort(port)) => {
            w.plain("MB_PROMETHEUS_SERVER_PORT", port.to_string());
        }
        (Engine::Zeppelin, _) => w.plain("ZEPPELIN_METRIC_ENABLE_PROMETHEUS", "true"),
        _ => {}
    }
}

fn zeppelin(w: &mut Wiring) {
    w.plain("ZEPPELIN_ADDR", "0.0.0.0");
    w.plain("ZEPPELIN_PORT", "8080");
}

/// The engines' defaults for the pod settings ([`super::pod`]), with where they come from.
impl Engine {
    /// The (uid, gid) of the image's own user. Metabase: the `metabase` user its
    /// `run_metabase.sh` creates from `MUID`/`MGID` (2000 by default), which runs `java`
    /// directly when started as that user. Superset and Redash: the user their Dockerfiles
    /// create with `useradd` on a Debian base (the first, 1000, with its own group) and switch
    /// to (`USER superset`, `USER redash`). Zeppelin: `USER 1000`, its directories owned by
    /// root's group and group-writable, so group 0.
    pub fn run_as(self) -> (i64, i64) {
        match self {
            Engine::Metabase => (2000, 2000),
            Engine::Superset | Engine::Redash => (1000, 1000),
            Engine::Zeppelin => (1000, 0),
        }
    }

    /// The default startup probe (period seconds, failure threshold): Metabase 10 minutes for
    /// its migrations, Zeppelin 5, Superset and Redash 3.
    pub fn startup_defaults(self) -> (i64, i64) {
        match self {
            Engine::Metabase => (10, 60),
            Engine::Zeppelin => (10, 30),
            Engine::Superset | Engine::Redash => (10, 18),
        }
    }

    /// The shortest startup budget accepted, in seconds: Metabase migrates its application
    /// database before it serves; the JVM engines start slower than the Python ones.
    pub fn startup_minimum(self) -> i64 {
        match self {
            Engine::Metabase => 300,
            Engine::Zeppelin => 120,
            Engine::Superset | Engine::Redash => 60,
        }
    }

    /// The variable the JVM options go to: Metabase's `run_metabase.sh` runs
    /// `java $JAVA_OPTS`; Zeppelin's `zeppelin-env.sh` reads `ZEPPELIN_JAVA_OPTS`.
    pub fn java_opts_var(self) -> Option<&'static str> {
        match self {
            Engine::Metabase => Some("JAVA_OPTS"),
            Engine::Zeppelin => Some("ZEPPELIN_JAVA_OPTS"),
            Engine::Superset | Engine::Redash => None,
        }
    }

    /// The variable naming the address users reach the engine at: Metabase's `MB_SITE_URL`,
    /// Redash's `REDASH_HOST` (links in alerts and invitations).
    pub fn site_url_var(self) -> Option<&'static str> {
        match self {
            Engine::Metabase => Some("MB_SITE_URL"),
            Engine::Redash => Some("REDASH_HOST"),
            Engine::Superset | Engine::Zeppelin => None,
        }
    }
}
