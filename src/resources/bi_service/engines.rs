//! What each BI engine needs: image, port, health probe, resources, and how the database and
//! engine secrets map onto its environment.

use std::collections::BTreeMap;

use super::model::{Database, DbKind, Spec};

pub const ENGINES: &[&str] = &["metabase", "superset", "redash", "zeppelin"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Metabase,
    Superset,
    Redash,
    Zeppelin,
}

/// An environment variable: a plain value, or a key of the service's Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    Plain(String),
    Secret(String),
}

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

    pub fn health_path(self) -> &'static str {
        match self {
            Engine::Metabase => "/api/health",
            Engine::Superset => "/health",
            Engine::Redash => "/ping",
            Engine::Zeppelin => "/api/version",
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
            Engine::Metabase | Engine::Zeppelin => (&[], &[]),
        }
    }
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn db_url(scheme: &str, db: &Database, password: &str) -> String {
    format!(
        "{scheme}://{}:{}@{}:{}/{}",
        url_escape(&db.username),
        url_escape(password),
        db.host,
        db.port,
        db.name
    )
}

/// The engine's environment and the data of its Secret.
pub fn wiring(
    spec: &Spec,
    password: Option<&str>,
) -> (BTreeMap<String, EnvValue>, BTreeMap<String, String>) {
    let mut env = BTreeMap::new();
    let mut secret = BTreeMap::new();
    let plain = |env: &mut BTreeMap<String, EnvValue>, k: &str, v: String| {
        env.insert(k.to_string(), EnvValue::Plain(v));
    };
    let mut hidden = |env: &mut BTreeMap<String, EnvValue>, k: &str, key: &str, v: String| {
        secret.insert(key.to_string(), v);
        env.insert(k.to_string(), EnvValue::Secret(key.to_string()));
    };
    let pass = password.unwrap_or_default().to_string();
    let s = &spec.secrets;
    match spec.engine {
        Engine::Metabase => {
            plain(&mut env, "MB_JETTY_PORT", "3000".into());
            match &spec.database {
                Some(db) => {
                    let kind = match db.kind {
                        DbKind::Mysql => "mysql",
                        DbKind::Postgres => "postgres",
                    };
                    plain(&mut env, "MB_DB_TYPE", kind.into());
                    plain(&mut env, "MB_DB_HOST", db.host.clone());
                    plain(&mut env, "MB_DB_PORT", db.port.to_string());
                    plain(&mut env, "MB_DB_DBNAME", db.name.clone());
                    hidden(
                        &mut env,
                        "MB_DB_USER",
                        "database-username",
                        db.username.clone(),
                    );
                    hidden(&mut env, "MB_DB_PASS", "database-password", pass);
                }
                None => plain(&mut env, "MB_DB_TYPE", "h2".into()),
            }
        }
        Engine::Superset => {
            if let Some(db) = &spec.database {
                let (dialect, driver) = match db.kind {
                    DbKind::Mysql => ("mysql", "mysql+mysqldb"),
                    DbKind::Postgres => ("postgresql", "postgresql+psycopg2"),
                };
                plain(&mut env, "DATABASE_DIALECT", dialect.into());
                plain(&mut env, "DATABASE_HOST", db.host.clone());
                plain(&mut env, "DATABASE_PORT", db.port.to_string());
                plain(&mut env, "DATABASE_DB", db.name.clone());
                hidden(
                    &mut env,
                    "DATABASE_USER",
                    "database-username",
                    db.username.clone(),
                );
                hidden(
                    &mut env,
                    "DATABASE_PASSWORD",
                    "database-password",
                    pass.clone(),
                );
                hidden(
                    &mut env,
                    "SQLALCHEMY_DATABASE_URI",
                    "database-url",
                    db_url(driver, db, &pass),
                );
            }
            if let Some(k) = &s.secret_key {
                hidden(&mut env, "SUPERSET_SECRET_KEY", "secret-key", k.clone());
            }
            if let Some(r) = &s.redis_url {
                hidden(&mut env, "REDIS_URL", "redis-url", r.clone());
            }
        }
        Engine::Redash => {
            if let Some(db) = &spec.database {
                hidden(
                    &mut env,
                    "REDASH_DATABASE_URL",
                    "database-url",
                    db_url("postgresql", db, &pass),
                );
            }
            if let Some(r) = &s.redis_url {
                hidden(&mut env, "REDASH_REDIS_URL", "redis-url", r.clone());
            }
            if let Some(k) = &s.secret_key {
                hidden(&mut env, "REDASH_SECRET_KEY", "secret-key", k.clone());
            }
            if let Some(c) = &s.cookie_secret {
                hidden(&mut env, "REDASH_COOKIE_SECRET", "cookie-secret", c.clone());
            }
            plain(&mut env, "REDASH_WEB_WORKERS", "4".into());
            plain(&mut env, "PYTHONUNBUFFERED", "0".into());
        }
        Engine::Zeppelin => {
            plain(&mut env, "ZEPPELIN_ADDR", "0.0.0.0".into());
            plain(&mut env, "ZEPPELIN_PORT", "8080".into());
        }
    }
    for (k, v) in &spec.env {
        env.insert(k.clone(), EnvValue::Plain(v.clone()));
    }
    (env, secret)
}
