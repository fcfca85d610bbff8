//! Fault injection on API requests: throttling (429 with `Retry-After`), bursts of server
//! errors (500/502/503/504) and added latency, drawn from a seeded generator so a run with
//! the same seed and the same order of requests fails the same requests.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::api::status_body;

/// What `POST /_sandbox/faults` sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Probability that an API request is answered 429 TooManyRequests.
    pub throttle_rate: f64,
    /// Probability that an API request starts a burst of server errors.
    pub error_rate: f64,
    /// How many consecutive API requests a burst fails (at least 1).
    pub error_burst: u32,
    /// The codes a burst answers with, one drawn per request.
    pub error_codes: Vec<u16>,
    /// Added to every API request.
    pub latency_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            throttle_rate: 0.0,
            error_rate: 0.0,
            error_burst: 1,
            error_codes: vec![500, 503],
            latency_ms: 0,
        }
    }
}

/// The codes a server-error burst may use.
pub const SERVER_ERROR_CODES: [u16; 4] = [500, 502, 503, 504];

impl Settings {
    /// Reads the control API's body; absent keys take their defaults.
    pub fn from_json(body: &Value) -> Result<Settings, String> {
        let d = Settings::default();
        let rate = |k: &str| -> Result<f64, String> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(0.0),
                Some(v) => v
                    .as_f64()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| format!("{k} must be a number in 0..=1")),
            }
        };
        let error_burst = match body.get("error_burst") {
            None | Some(Value::Null) => d.error_burst,
            Some(v) => {
                v.as_u64()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or("error_burst must be a whole number in 1..=100")? as u32
            }
        };
        let error_codes = match body.get("error_codes") {
            None | Some(Value::Null) => d.error_codes,
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|c| {
                    c.as_u64()
                        .and_then(|c| u16::try_from(c).ok())
                        .filter(|c| SERVER_ERROR_CODES.contains(c))
                        .ok_or_else(|| {
                            format!("error_codes: {c} is not one of {SERVER_ERROR_CODES:?}")
                        })
                })
                .collect::<Result<Vec<u16>, String>>()?,
            Some(_) => return Err("error_codes must be a non-empty list of codes".into()),
        };
        let latency_ms = match body.get("latency_ms") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_u64()
                .filter(|ms| *ms <= 60_000)
                .ok_or("latency_ms must be a whole number in 0..=60000")?,
        };
        Ok(Settings {
            throttle_rate: rate("throttle_rate")?,
            error_rate: rate("error_rate")?,
            error_burst,
            error_codes,
            latency_ms,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "throttle_rate": self.throttle_rate,
            "error_rate": self.error_rate,
            "error_burst": self.error_burst,
            "error_codes": self.error_codes,
            "latency_ms": self.latency_ms,
        })
    }
}

/// SplitMix64: small, seedable and the same on every platform.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The fault chosen for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError(u16),
}

/// The injector: settings, generator, the burst in progress and counters.
pub struct Faults {
    settings: Settings,
    rng: Rng,
    burst_left: u32,
    throttled: u64,
    server_errors: BTreeMap<u16, u64>,
    bursts: u64,
}

impl Faults {
    pub fn new(seed: u64) -> Faults {
        Faults {
            settings: Settings::default(),
            rng: Rng(seed),
            burst_left: 0,
            throttled: 0,
            server_errors: BTreeMap::new(),
            bursts: 0,
        }
    }

    /// New settings; a `seed` restarts the generator. An ongoing burst ends.
    pub fn configure(&mut self, settings: Settings, seed: Option<u64>) {
        self.settings = settings;
        self.burst_left = 0;
        if let Some(s) = seed {
            self.rng = Rng(s);
        }
    }

    /// No more faults (the counters stay).
    pub fn clear(&mut self) {
        self.configure(Settings::default(), None);
    }

    /// Forgets settings and counters.
    pub fn reset(&mut self, seed: u64) {
        *self = Faults::new(seed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.settings.latency_ms)
    }

    /// Decides the fate of one API request and counts it.
    pub fn decide(&mut self) -> Option<Fault> {
        let s = &self.settings;
        let fault = if self.burst_left > 0 {
            self.burst_left -= 1;
            Some(self.server_error())
        } else if s.throttle_rate > 0.0 && self.rng.next_f64() < s.throttle_rate {
            Some(Fault::Throttle)
        } else if s.error_rate > 0.0 && self.rng.next_f64() < s.error_rate {
            self.bursts += 1;
            self.burst_left = s.error_burst.saturating_sub(1);
            Some(self.server_error())
        } else {
            None
        };
        match fault {
            Some(Fault::Throttle) => self.throttled += 1,
            Some(Fault::ServerError(code)) => *self.server_errors.entry(code).or_default() += 1,
            None => {}
        }
        fault
    }

    fn server_error(&mut self) -> Fault {
        let codes = &self.settings.error_codes;
        let i = (self.rng.next_u64() % codes.len().max(1) as u64) as usize;
        Fault::ServerError(codes.get(i).copied().unwrap_or(500))
    }

    pub fn stats_json(&self) -> Value {
        let by_code: BTreeMap<String, u64> = self
            .server_errors
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        json!({
            "settings": self.settings.to_json(),
            "throttled": self.throttled,
            "server_errors": self.server_errors.values().sum::<u64>(),
            "server_errors_by_code": by_code,
            "bursts": self.bursts,
        })
    }
}

/// The status code, extra headers and `Status` body a real API server answers with.
pub fn response(fault: Fault) -> (u16, Vec<(&'static str, String)>, Value) {
    match fault {
        Fault::Throttle => {
            let mut body = status_body(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
            );
            body["details"] = json!({"retryAfterSeconds": 1});
            (429, vec![("retry-after", "1".to_string())], body)
        }
        Fault::ServerError(503) => {
            let mut body = status_body(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            );
            body["details"] = json!({"retryAfterSeconds": 1});
            (503, vec![("retry-after", "1".to_string())], body)
        }
        Fault::ServerError(504) => (
            504,
            Vec::new(),
            status_body(
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted",
            ),
        ),
        Fault::ServerError(502) => (
            502,
            Vec::new(),
            status_body(502, "BadGateway", "the upstream server is unavailable"),
        ),
        Fault::ServerError(code) => {
            let mut body = status_body(
                code,
                "InternalError",
                "Internal error occurred: injected by the sandbox",
            );
            body["details"] = json!({"causes": [{"message": "Internal error occurred: injected by the sandbox"}]});
            (code, Vec::new(), body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &mut Faults, n: usize) -> Vec<Option<Fault>> {
        (0..n).map(|_| f.decide()).collect()
    }

    #[test]
    fn nothing_without_settings() {
        let mut f = Faults::new(1);
        assert!(run(&mut f, 1000).iter().all(Option::is_none));
        assert_eq!(f.stats_json()["throttled"], 0);
    }

    #[test]
    fn the_same_seed_fails_the_same_requests() {
        let s = Settings::from_json(
            &json!({"throttle_rate": 0.3, "error_rate": 0.05, "error_burst": 3}),
        )
        .unwrap();
        let mut a = Faults::new(0);
        a.configure(s.clone(), Some(42));
        let mut b = Faults::new(9);
        b.configure(s.clone(), Some(42));
        let ra = run(&mut a, 2000);
        assert_eq!(ra, run(&mut b, 2000));
        let mut c = Faults::new(0);
        c.configure(s, Some(43));
        assert_ne!(ra, run(&mut c, 2000));
        // About 30 % throttled; bursts of three server errors.
        let throttled = ra.iter().filter(|f| **f == Some(Fault::Throttle)).count();
        assert!((500..700).contains(&throttled), "{throttled}");
        let stats = a.stats_json();
        let errors = stats["server_errors"].as_u64().unwrap();
        let bursts = stats["bursts"].as_u64().unwrap();
        assert!(bursts > 20, "{stats}");
        assert!(errors > bursts * 2 && errors <= bursts * 3, "{stats}");
        let codes: Vec<u16> = ra
            .iter()
            .filter_map(|f| match f {
                Some(Fault::ServerError(c)) => Some(*c),
                _ => None,
            })
            .collect();
        assert!(codes.contains(&500) && codes.contains(&503), "{codes:?}");
        assert!(codes.iter().all(|c| [500, 503].contains(c)));
    }

    #[test]
    fn bursts_fail_consecutive_requests() {
        let mut f = Faults::new(5);
        f.configure(
            Settings::from_json(
                &json!({"error_rate": 0.01, "error_burst": 4, "error_codes": [502]}),
            )
            .unwrap(),
            None,
        );
        let r = run(&mut f, 5000);
        let mut i = 0;
        let mut seen = 0;
        while i < r.len() {
            if r[i].is_some() {
                let run_len = r[i..].iter().take_while(|x| x.is_some()).count();
                assert!(run_len >= 4 || i + run_len == r.len(), "burst of {run_len}");
                assert!(r[i..i + run_len]
                    .iter()
                    .all(|x| *x == Some(Fault::ServerError(502))));
                seen += 1;
                i += run_len;
            } else {
                i += 1;
            }
        }
        assert!(seen > 10, "{seen}");
        f.clear();
        assert!(run(&mut f, 500).iter().all(Option::is_none));
    }

    #[test]
    fn settings_are_checked() {
        assert!(Settings::from_json(&json!({"throttle_rate": 1.5})).is_err());
        assert!(Settings::from_json(&json!({"error_codes": [404]})).is_err());
        assert!(Settings::from_json(&json!({"error_codes": []})).is_err());
        assert!(Settings::from_json(&json!({"error_burst": 0})).is_err());
        assert_eq!(
            Settings::from_json(&json!({})).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn responses_are_kubernetes_statuses() {
        let (code, headers, body) = response(Fault::Throttle);
        assert_eq!(code, 429);
        assert_eq!(headers, vec![("retry-after", "1".to_string())]);
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["reason"], "TooManyRequests");
        assert_eq!(body["details"]["retryAfterSeconds"], 1);
        for (c, reason) in [
            (500, "InternalError"),
            (502, "BadGateway"),
            (503, "ServiceUnavailable"),
            (504, "Timeout"),
        ] {
            let (code, _, body) = response(Fault::ServerError(c));
            assert_eq!((code, body["code"].as_u64()), (c, Some(u64::from(c))));
            assert_eq!(body["reason"], reason);
            assert_eq!(body["status"], "Failure");
        }
    }
}
