//! The pod template annotation that rolls a Deployment's pods when its Secret changes.
//!
//! A plain hash of the Secret's data would let anyone who can read Deployments test guesses
//! of a password against it. The annotation is an HMAC-SHA256 of the data instead, under a
//! random key that lives in the Secret itself (key [`KEY`]): readable only by those who can
//! read the Secret anyway, and kept across applies so an unchanged Secret keeps its checksum.
//!
//! A rendered pod template names the Secret in [`CHECKSUM_ANNOTATION`]; [`seal`] replaces the
//! name with the HMAC of that Secret's data when the objects are applied.

use std::collections::BTreeMap;

use aws_lc_rs::hmac;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::CHECKSUM_ANNOTATION;

/// The Secret data key holding the HMAC key.
pub const KEY: &str = "dataplatform.io-checksum-key";

const TEMPLATE_ANNOTATIONS: &str = "/spec/template/metadata/annotations";

/// The HMAC of a Secret's data (its base64 values, by key), the key entry left out.
fn hmac_of(key: &[u8], data: &serde_json::Map<String, Json>) -> String {
    let sorted: BTreeMap<&String, &Json> = data.iter().filter(|(k, _)| *k != KEY).collect();
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    for (k, v) in sorted {
        ctx.update(k.as_bytes());
        ctx.update(&[0]);
        ctx.update(v.as_str().unwrap_or_default().as_bytes());
        ctx.update(&[0]);
    }
    hex::encode(ctx.sign().as_ref())
}

/// The HMAC key a live Secret keeps, if it has one.
pub fn live_key(live: &Json) -> Option<Vec<u8>> {
    live.pointer(&format!("/data/{KEY}"))
        .and_then(Json::as_str)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|k| k.len() >= KEY_LEN)
}

/// The length of an HMAC key, in bytes.
pub const KEY_LEN: usize = 32;

/// The Secrets that pod templates among `objects` sum, as `namespace/name`.
pub fn summed_secrets(objects: &[Json]) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| {
            let secret = o.pointer(TEMPLATE_ANNOTATIONS)?.get(CHECKSUM_ANNOTATION)?;
            let ns = o.pointer("/metadata/namespace")?.as_str()?;
            Some(format!("{ns}/{}", secret.as_str()?))
        })
        .collect()
}

/// Puts `keys` (Secret `namespace/name` → HMAC key) into their Secrets among `objects`, and
/// the HMAC of each Secret's data into the pod templates that name it.
pub fn seal(objects: &mut [Json], keys: &BTreeMap<String, Vec<u8>>) {
    let mut sums = BTreeMap::new();
    for o in objects.iter_mut() {
        if o["kind"] != "Secret" {
            continue;
        }
        let id = format!(
            "{}/{}",
            o["metadata"]["namespace"].as_str().unwrap_or_default(),
            o["metadata"]["name"].as_str().unwrap_or_default()
        );
        let Some(key) = keys.get(&id) else { continue };
        let data = o
            .as_object_mut()
            .map(|m| m.entry("data").or_insert_with(|| json!({})));
        let Some(data) = data.and_then(Json::as_object_mut) else {
            continue;
        };
        sums.insert(id, hmac_of(key, data));
        data.insert(
            KEY.to_string(),
            json!(base64::engine::general_purpose::STANDARD.encode(key)),
        );
    }
    for o in objects.iter_mut() {
        let ns = o
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(a) = o
            .pointer_mut(TEMPLATE_ANNOTATIONS)
            .and_then(Json::as_object_mut)
        else {
            continue;
        };
        let Some(secret) = a.get(CHECKSUM_ANNOTATION).and_then(Json::as_str) else {
            continue;
        };
        if let Some(sum) = sums.get(&format!("{ns}/{secret}")) {
            a.insert(CHECKSUM_ANNOTATION.to_string(), json!(sum));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(password: &str) -> Vec<Json> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(password);
        vec![
            json!({"kind": "Secret", "metadata": {"name": "m", "namespace": "bi"},
                   "data": {"database-password": b64}}),
            json!({"kind": "Deployment", "metadata": {"name": "m", "namespace": "bi"},
                   "spec": {"template": {"metadata": {"annotations": {CHECKSUM_ANNOTATION: "m"}}}}}),
        ]
    }

    fn sum(objects: &[Json]) -> String {
        objects[1]["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn checksums_are_keyed_and_change_with_the_data() {
        let key = crate::resources::kube_objects::random_bytes(KEY_LEN).unwrap_or_default();
        let keys = BTreeMap::from([("bi/m".to_string(), key.clone())]);
        assert_eq!(summed_secrets(&objects("a")), vec!["bi/m".to_string()]);
        let (mut a, mut a2, mut b) = (objects("a"), objects("a"), objects("b"));
        seal(&mut a, &keys);
        seal(&mut a2, &keys);
        seal(&mut b, &keys);
        assert_eq!(sum(&a), sum(&a2));
        assert_ne!(sum(&a), sum(&b));
        assert_eq!(live_key(&a[0]), Some(key));
        // Not a plain hash of the data: another key gives another sum.
        let other = BTreeMap::from([("bi/m".to_string(), vec![7u8; 32])]);
        let mut c = objects("a");
        seal(&mut c, &other);
        assert_ne!(sum(&a), sum(&c));
        assert_eq!(sum(&a).len(), 64);
    }
}
