//! CloudTrail public keys: `list-public-keys` exports and PEM files.
//!
//! A key is usable for a digest only when its fingerprint (MD5 of the PKCS#1 DER, which
//! trailproof recomputes rather than trusting the export) equals the digest's
//! `digestPublicKeyFingerprint` *and* its validity window covers the digest's end time.
//! A key entry whose stated fingerprint differs from its bytes, or whose bytes are not an
//! RSA key, is not used and is reported, naming the file.

use crate::discover::KeyFile;
use crate::findings::{Evidence, Finding, Kind};
use crate::hash::hex;
use base64::Engine as _;
use md5::{Digest as _, Md5};
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use std::collections::{BTreeMap, BTreeSet};

/// Largest key accepted (bits): bigger keys only cost time and prove nothing more.
const MAX_KEY_BITS: usize = 8192;

#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Hex MD5 of the PKCS#1 DER, recomputed.
    pub fingerprint: String,
    pub valid_from: Option<i64>,
    pub valid_to: Option<i64>,
    pub key: RsaPublicKey,
    /// The PKCS#1 DER the fingerprint is computed over (what `ring` verifies with).
    pub pkcs1: Vec<u8>,
    pub source: String,
}

impl PublicKey {
    pub fn covers(&self, t: i64) -> bool {
        self.valid_from.is_none_or(|f| f <= t) && self.valid_to.is_none_or(|e| t <= e)
    }
}

#[derive(Debug, Default)]
pub struct KeyRing {
    /// By fingerprint; several entries when a key appears in several exports.
    pub keys: BTreeMap<String, Vec<PublicKey>>,
    /// Regions named by key export file names (they tell which regions a trail covers).
    pub regions: BTreeSet<String>,
    pub findings: Vec<Finding>,
}

/// Outcome of looking a digest's key up.
pub enum Lookup<'a> {
    Found(&'a PublicKey),
    /// A key has the fingerprint, but none is valid at that time.
    NotValidThen(&'a PublicKey),
    Unknown,
}

impl KeyRing {
    pub fn lookup(&self, fingerprint: &str, at: i64) -> Lookup<'_> {
        let fp = fingerprint.to_ascii_lowercase();
        match self.keys.get(&fp) {
            None => Lookup::Unknown,
            Some(list) => match list.iter().find(|k| k.covers(at)) {
                Some(k) => Lookup::Found(k),
                None => list.first().map_or(Lookup::Unknown, Lookup::NotValidThen),
            },
        }
    }

    pub fn len(&self) -> usize {
        self.keys.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn add(&mut self, k: PublicKey) {
        self.keys.entry(k.fingerprint.clone()).or_default().push(k);
    }

    fn reject(&mut self, path: &str, why: String) {
        self.findings.push(
            Finding::new(Kind::InputIgnored)
                .message(format!("public key in {path} not used: {why}"))
                .path(path)
                .evidence(Evidence::file(path)),
        );
    }
}

/// Build the key ring from discovered exports and `--public-key` files.
pub fn load(files: &[KeyFile]) -> KeyRing {
    let mut ring = KeyRing::default();
    for f in files {
        if let Some(r) = &f.region_hint {
            ring.regions.insert(r.clone());
        }
        match &f.json {
            Some(json) => load_list(&mut ring, &f.path, json),
            None => match parse_pem(&f.bytes) {
                Ok(keys) => {
                    for key in keys {
                        match key.to_pkcs1_der() {
                            Ok(der) => ring.add(PublicKey {
                                fingerprint: hex(&Md5::digest(der.as_bytes())),
                                valid_from: None,
                                valid_to: None,
                                pkcs1: der.as_bytes().to_vec(),
                                key,
                                source: f.path.clone(),
                            }),
                            Err(_) => ring.reject(&f.path, "cannot encode as PKCS#1".into()),
                        }
                    }
                }
                Err(why) => ring.reject(&f.path, why),
            },
        }
    }
    for list in ring.keys.values_mut() {
        list.sort_by(|a, b| {
            (a.valid_from, a.valid_to, &a.source).cmp(&(b.valid_from, b.valid_to, &b.source))
        });
    }
    ring
}

fn load_list(ring: &mut KeyRing, path: &str, json: &serde_json::Value) {
    let Some(list) = json.get("PublicKeyList").and_then(|v| v.as_array()) else {
        ring.reject(path, "`PublicKeyList` is not a list".into());
        return;
    };
    for (i, item) in list.iter().enumerate() {
        let at = format!("{path} entry {i}");
        let Some(value) = item.get("Value").and_then(|v| v.as_str()) else {
            ring.reject(&at, "no `Value`".into());
            continue;
        };
        let der = match base64::engine::general_purpose::STANDARD.decode(value.trim()) {
            Ok(d) => d,
            Err(e) => {
                ring.reject(&at, format!("`Value` is not base64 ({e})"));
                continue;
            }
        };
        let key = match RsaPublicKey::from_pkcs1_der(&der) {
            Ok(k) => k,
            Err(e) => {
                ring.reject(&at, format!("`Value` is not a PKCS#1 RSA public key ({e})"));
                continue;
            }
        };
        if key_bits(&key) > MAX_KEY_BITS {
            ring.reject(&at, format!("key larger than {MAX_KEY_BITS} bits"));
            continue;
        }
        let fp = hex(&Md5::digest(&der));
        if let Some(stated) = item.get("Fingerprint").and_then(|v| v.as_str()) {
            if !stated.eq_ignore_ascii_case(&fp) {
                ring.reject(
                    &at,
                    format!("stated fingerprint {stated} is not the MD5 of the key ({fp})"),
                );
                continue;
            }
        }
        // Absent or null: open (a PEM key has no window either). Present but not a time:
        // the entry is refused, as reading it as open would let an expired key verify.
        let time = |field: &str| match item.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => crate::time::from_json(v)
                .map(Some)
                .ok_or_else(|| format!("`{field}` {v} is not a time")),
        };
        let (from, to) = match (time("ValidityStartTime"), time("ValidityEndTime")) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(why), _) | (_, Err(why)) => {
                ring.reject(&at, why);
                continue;
            }
        };
        ring.add(PublicKey {
            fingerprint: fp,
            valid_from: from,
            valid_to: to,
            pkcs1: der,
            key,
            source: path.to_owned(),
        });
    }
}

fn key_bits(k: &RsaPublicKey) -> usize {
    use rsa::traits::PublicKeyParts;
    k.n().bits()
}

/// Every block of a PEM file, each `BEGIN RSA PUBLIC KEY` (PKCS#1) or `BEGIN PUBLIC KEY`
/// (SubjectPublicKeyInfo): a file may hold several keys (say, one per rotation). A block
/// that is not such a key refuses the file, naming the block.
pub fn parse_pem(bytes: &[u8]) -> Result<Vec<RsaPublicKey>, String> {
    let mut text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let mut keys = Vec::new();
    while let Some((label, body, rest)) = pem_block(text) {
        let n = keys.len() + 1;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("PEM block {n}: body is not base64 ({e})"))?;
        let key = match label {
            "RSA PUBLIC KEY" => RsaPublicKey::from_pkcs1_der(&der).map_err(|e| e.to_string()),
            "PUBLIC KEY" => RsaPublicKey::from_public_key_der(&der).map_err(|e| e.to_string()),
            other => return Err(format!("PEM block {n} (`{other}`) is not a public key")),
        }
        .map_err(|e| format!("PEM block {n}: {e}"))?;
        if key_bits(&key) > MAX_KEY_BITS {
            return Err(format!(
                "PEM block {n}: key larger than {MAX_KEY_BITS} bits"
            ));
        }
        keys.push(key);
        text = rest;
    }
    if keys.is_empty() {
        return Err("no PEM block".into());
    }
    Ok(keys)
}

/// The first PEM block of `text`: its label, its body without whitespace, and the text
/// after it.
fn pem_block(text: &str) -> Option<(&str, String, &str)> {
    let start = text.find("-----BEGIN ")?;
    let after = text.get(start + 11..)?;
    let label_end = after.find("-----")?;
    let label = after.get(..label_end)?;
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = after.find(&end_marker)?;
    let body = after.get(body_start..body_end)?;
    let rest = after.get(body_end + end_marker.len()..)?;
    Some((
        label,
        body.chars().filter(|c| !c.is_whitespace()).collect(),
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN_KEYS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/conformance/key_rotation/bundle/keys/list-public-keys.us-east-1.json"
    );

    fn kf(json: serde_json::Value) -> KeyFile {
        KeyFile {
            path: "keys/k.json".into(),
            bytes: Vec::new(),
            json: Some(json),
            region_hint: None,
        }
    }

    #[test]
    fn loads_list_public_keys_with_offsets() {
        let Ok(text) = std::fs::read_to_string(CLEAN_KEYS) else {
            return; // conformance set not beside the repo
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ring = load(&[kf(json)]);
        assert!(ring.findings.is_empty(), "{:?}", ring.findings);
        assert!(ring.len() >= 2);
        for list in ring.keys.values() {
            assert!(list[0].valid_from.is_some() && list[0].valid_to.is_some());
        }
    }

    #[test]
    fn a_validity_time_that_is_not_a_time_refuses_the_entry() {
        let Ok(text) = std::fs::read_to_string(CLEAN_KEYS) else {
            return;
        };
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["PublicKeyList"][0]["ValidityEndTime"] = "when the audit is over".into();
        json["PublicKeyList"][1]["ValidityEndTime"] = serde_json::Value::Null;
        let ring = load(&[kf(json)]);
        assert_eq!(
            ring.findings.len(),
            1,
            "an expired key must not read as open"
        );
        let kept: Vec<_> = ring.keys.values().flatten().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            kept[0].valid_to, None,
            "null stays open, as AWS's current key"
        );
    }

    #[test]
    fn a_pem_file_gives_every_key_it_holds() {
        let Ok(text) = std::fs::read_to_string(CLEAN_KEYS) else {
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let block = |i: usize| {
            format!(
                "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
                json["PublicKeyList"][i]["Value"].as_str().unwrap()
            )
        };
        let two = format!("first\n{}between\n{}", block(0), block(1));
        let ring = load(&[KeyFile {
            path: "rotation.pem".into(),
            bytes: two.clone().into_bytes(),
            json: None,
            region_hint: None,
        }]);
        assert_eq!(ring.keys.values().flatten().count(), 2);
        assert!(ring.findings.is_empty());
        let three = format!("{two}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = parse_pem(three.as_bytes()).unwrap_err();
        assert!(err.contains("PEM block 3"), "{err}");
    }

    #[test]
    fn wrong_fingerprint_and_bad_values_are_reported() {
        let Ok(text) = std::fs::read_to_string(CLEAN_KEYS) else {
            return;
        };
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["PublicKeyList"][0]["Fingerprint"] = "00".repeat(16).into();
        json["PublicKeyList"][1]["Value"] = "!!notbase64".into();
        let ring = load(&[kf(json)]);
        assert_eq!(ring.findings.len(), 2);
        assert!(ring.keys.is_empty());
    }

    #[test]
    fn hostile_shapes_do_not_panic() {
        for j in [
            serde_json::json!({"PublicKeyList": 5}),
            serde_json::json!({"PublicKeyList": [null, 1, {"Value": 3}, {"Value": "AAAA"}]}),
        ] {
            let ring = load(&[kf(j)]);
            assert!(ring.keys.is_empty());
            assert!(!ring.findings.is_empty());
        }
        assert!(
            parse_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err()
        );
        assert!(parse_pem(b"-----BEGIN PUBLIC KEY-----\n%%%\n-----END PUBLIC KEY-----").is_err());
        assert!(parse_pem(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn validity_window() {
        let Ok(text) = std::fs::read_to_string(CLEAN_KEYS) else {
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ring = load(&[kf(json)]);
        let (fp, list) = ring.keys.iter().next().unwrap();
        let k = &list[0];
        let inside = k.valid_from.unwrap() + 1;
        assert!(matches!(ring.lookup(fp, inside), Lookup::Found(_)));
        assert!(matches!(
            ring.lookup(&fp.to_uppercase(), inside),
            Lookup::Found(_)
        ));
        assert!(matches!(
            ring.lookup(fp, k.valid_from.unwrap() - 86_400 * 365),
            Lookup::NotValidThen(_) | Lookup::Found(_)
        ));
        assert!(matches!(ring.lookup("ffff", inside), Lookup::Unknown));
    }
}
