//! Logs as Terraform shows them: one go-hclog JSON object per line on stderr, at the level the
//! user chose with `TF_LOG_PROVIDER` (falling back to `TF_LOG`; unset means off).
//!
//! Values of attributes are never logged by the framework, so secrets cannot leak through it;
//! resources log identifiers only.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The `@module` Terraform shows for our lines.
pub const MODULE: &str = "provider.dataplatform";

/// The level asked for by the environment, or `None` for off.
pub fn level_from_env(get: impl Fn(&str) -> Option<String>) -> Option<Level> {
    let raw = get("TF_LOG_PROVIDER")
        .filter(|s| !s.is_empty())
        .or_else(|| get("TF_LOG").filter(|s| !s.is_empty()))?;
    match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        // Terraform treats any other non-empty value as TRACE.
        "OFF" => None,
        _ => Some(Level::TRACE),
    }
}

/// Installs the stderr logger when the environment asks for logs. Safe to call once.
pub fn init_from_env() {
    if let Some(level) = level_from_env(|k| std::env::var(k).ok()) {
        let layer = HclogLayer {
            max: level,
            out: Mutex::new(Box::new(std::io::stderr())),
        };
        let _ = tracing_subscriber::registry().with(layer).try_init();
    }
}

/// A tracing layer writing go-hclog JSON lines.
pub struct HclogLayer {
    max: Level,
    out: Mutex<Box<dyn Write + Send>>,
}

impl HclogLayer {
    /// A layer writing to any sink (tests use a buffer).
    pub fn new(max: Level, out: Box<dyn Write + Send>) -> Self {
        HclogLayer {
            max,
            out: Mutex::new(out),
        }
    }
}

fn level_name(l: &Level) -> &'static str {
    match *l {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

struct Fields(Map<String, Json>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let key = if field.name() == "message" {
            "@message"
        } else {
            field.name()
        };
        self.0
            .insert(key.to_string(), Json::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Json::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let key = if field.name() == "message" {
            "@message"
        } else {
            field.name()
        };
        self.0
            .insert(key.to_string(), Json::String(format!("{value:?}")));
    }
}

/// `2026-11-23T19:00:00.123456Z`: exactly six fractional digits, as go-hclog parses them.
pub fn timestamp(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    now.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.level() <= &self.max && metadata.target().starts_with("dataplatform")
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert(
            "@level".into(),
            Json::from(level_name(event.metadata().level())),
        );
        line.insert(
            "@message".into(),
            fields
                .0
                .remove("@message")
                .unwrap_or(Json::String(String::new())),
        );
        line.insert(
            "@timestamp".into(),
            Json::from(timestamp(time::OffsetDateTime::now_utc())),
        );
        line.insert("@module".into(), Json::from(MODULE));
        line.extend(fields.0);
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{}", Json::Object(line));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    /// A log destination the tests read back.
    #[derive(Clone, Default)]
    pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn level_follows_tf_log_provider_then_tf_log() {
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(level_from_env(get(&[])), None);
        assert_eq!(
            level_from_env(get(&[("TF_LOG", "debug")])),
            Some(Level::DEBUG)
        );
        assert_eq!(
            level_from_env(get(&[("TF_LOG", "debug"), ("TF_LOG_PROVIDER", "WARN")])),
            Some(Level::WARN)
        );
        assert_eq!(level_from_env(get(&[("TF_LOG_PROVIDER", "off")])), None);
        assert_eq!(level_from_env(get(&[("TF_LOG", "1")])), Some(Level::TRACE));
    }

    #[test]
    fn writes_hclog_json_lines() {
        let buf = Buf::default();
        let layer = HclogLayer::new(Level::INFO, Box::new(buf.clone()));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(cluster = "analytics", "node group ready");
            tracing::debug!("not shown at info");
            tracing::warn!(count = 3, "slow");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Json> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["@level"], "info");
        assert_eq!(lines[0]["@message"], "node group ready");
        assert_eq!(lines[0]["@module"], MODULE);
        assert_eq!(lines[0]["cluster"], "analytics");
        assert_eq!(lines[1]["@level"], "warn");
        let ts = lines[0]["@timestamp"].as_str().unwrap();
        let frac = ts.split('.').nth(1).unwrap();
        assert_eq!(frac.len(), 7, "six digits and Z: {ts}");
    }
}
