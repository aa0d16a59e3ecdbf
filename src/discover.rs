//! Discovery: the only code that walks the inputs. Read-only, never follows links.
//!
//! Every file under every input is classified by S3 key shape (`s3key.rs`) or, for JSON
//! exports, by JSON shape: log files, digests, signature sidecars (`DIGEST.head.json`),
//! public keys, configuration exports, other bucket objects (counted and skipped), and
//! anything else (listed as `input_ignored`). Log files and digests are only located here:
//! their stages read them once, and report their size and SHA-256 for the manifest.
//! Every other file is read and hashed here. Nothing is ever opened for writing.

use crate::config::{self, ConfigFile};
use crate::error::{Error, Result};
use crate::findings::{Evidence, Finding, Kind, Severity};
use crate::s3key::{self, DigestKey, KeyShape, LogKey};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest JSON export (keys, configuration, sidecar) read into memory.
pub const MAX_JSON_FILE: u64 = 64 << 20;

/// A file inside an input: how the report names it, and where it is on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    /// `/`-separated path relative to its input (prefixed by the input when there are several).
    pub display: String,
    pub fs_path: PathBuf,
}

/// One line of the chain-of-custody manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManifestEntry {
    pub path: String,
    pub role: &'static str,
    pub size: u64,
    /// Hex SHA-256 of the bytes as found; `None` when the file could not be read.
    pub sha256: Option<String>,
}

/// The signature of a digest as `aws s3api head-object` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    pub path: String,
    /// `Metadata.signature`, as written (hex expected).
    pub signature: Option<String>,
    pub algorithm: Option<String>,
}

/// A public-key export (list-public-keys JSON or PEM), unparsed.
#[derive(Debug, Clone)]
pub struct KeyFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub json: Option<serde_json::Value>,
    /// Region named in the file name (`list-public-keys.eu-west-1.json`).
    pub region_hint: Option<String>,
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub roots: Vec<String>,
    pub logs: Vec<(Source, LogKey)>,
    pub digests: Vec<(Source, DigestKey)>,
    /// By the canonical key of the digest the sidecar belongs to.
    pub sidecars: BTreeMap<String, Sidecar>,
    pub key_files: Vec<KeyFile>,
    pub configs: Vec<ConfigFile>,
    pub manifest: Vec<ManifestEntry>,
    pub findings: Vec<Finding>,
    /// Other bucket objects, recognised and skipped.
    pub skipped: u64,
    pub ignored: u64,
}

/// Walk every input. Errors only when an input itself is missing or unusable.
pub fn discover(inputs: &[PathBuf]) -> Result<Inventory> {
    let mut inv = Inventory::default();
    let several = inputs.len() > 1;
    for root in inputs {
        let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::InputMissing(root.clone()),
            _ => Error::InputUnreadable {
                path: root.clone(),
                source: e,
            },
        })?;
        let root_label = root.to_string_lossy().replace('\\', "/");
        inv.roots.push(root_label.clone());
        if meta.is_file() {
            if is_archive(root) {
                return Err(Error::ArchiveUnsupported(root.clone()));
            }
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            classify_file(&mut inv, name, root.clone(), meta.len());
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e
                        .path()
                        .map(|p| display_of(root, p, several, &root_label))
                        .unwrap_or_else(|| root_label.clone());
                    inv.ignored += 1;
                    inv.findings.push(
                        Finding::new(Kind::InputIgnored)
                            .severity(Severity::Low)
                            .message(format!("cannot read {p}: {e}"))
                            .path(p),
                    );
                    continue;
                }
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let display = display_of(root, entry.path(), several, &root_label);
            if ft.is_symlink() {
                inv.ignored += 1;
                inv.manifest.push(ManifestEntry {
                    path: display.clone(),
                    role: "ignored",
                    size: 0,
                    sha256: None,
                });
                inv.findings.push(
                    Finding::new(Kind::InputIgnored)
                        .message(format!(
                            "{display} is a symbolic link: not followed (evidence is read only where it sits)"
                        ))
                        .path(display),
                );
                continue;
            }
            if !ft.is_file() {
                inv.ignored += 1;
                inv.findings.push(
                    Finding::new(Kind::InputIgnored)
                        .message(format!("{display} is not a regular file"))
                        .path(display),
                );
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            classify_file(&mut inv, display, entry.path().to_path_buf(), size);
        }
    }
    inv.manifest.sort();
    Ok(inv)
}

fn is_archive(p: &Path) -> bool {
    let n = p.to_string_lossy().to_ascii_lowercase();
    [".tar", ".tar.gz", ".tgz", ".zip"]
        .iter()
        .any(|s| n.ends_with(s))
}

fn display_of(root: &Path, p: &Path, several: bool, root_label: &str) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    let rel = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    if several {
        format!("{}/{}", root_label.trim_end_matches('/'), rel)
    } else {
        rel
    }
}

fn classify_file(inv: &mut Inventory, display: String, fs_path: PathBuf, size: u64) {
    let src = Source {
        display: display.clone(),
        fs_path,
    };
    let name = display.rsplit('/').next().unwrap_or(&display).to_owned();
    if let Some(digest_path) = display.strip_suffix(".head.json") {
        if let KeyShape::Digest(k) = s3key::classify(digest_path) {
            read_sidecar(inv, src, size, k.canonical);
            return;
        }
    }
    match s3key::classify(&display) {
        KeyShape::Log(k) => inv.logs.push((src, k)),
        KeyShape::Digest(k) => inv.digests.push((src, k)),
        KeyShape::OtherBucketObject => {
            inv.skipped += 1;
            hash_into_manifest(inv, &src, "skipped", size);
        }
        KeyShape::Unknown => classify_by_content(inv, src, name, size),
    }
}

fn classify_by_content(inv: &mut Inventory, src: Source, name: String, size: u64) {
    let lower = name.to_ascii_lowercase();
    let looks_json = lower.ends_with(".json");
    let looks_pem = lower.ends_with(".pem") || lower.ends_with(".pub");
    if !(looks_json || looks_pem) {
        hash_into_manifest(inv, &src, "ignored", size);
        ignore(inv, &src.display, "not a CloudTrail object, key or configuration export");
        return;
    }
    let bytes = match read_limited(&src.fs_path, MAX_JSON_FILE) {
        Ok(b) => b,
        Err(reason) => {
            inv.manifest.push(ManifestEntry {
                path: src.display.clone(),
                role: "ignored",
                size,
                sha256: None,
            });
            ignore(inv, &src.display, &reason);
            return;
        }
    };
    let sha = hex_sha256(&bytes);
    if looks_pem {
        let text = String::from_utf8_lossy(&bytes);
        let role = if text.contains("PUBLIC KEY-----") {
            inv.key_files.push(KeyFile {
                path: src.display.clone(),
                bytes: bytes.clone(),
                json: None,
                region_hint: s3key::region_in_name(&name),
            });
            "keys"
        } else {
            ignore(inv, &src.display, "not a PEM public key");
            "ignored"
        };
        inv.manifest.push(entry(&src, role, &bytes, sha));
        return;
    }
    let json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            inv.manifest.push(entry(&src, "ignored", &bytes, sha));
            ignore(inv, &src.display, &format!("not valid JSON ({e})"));
            return;
        }
    };
    let role = if json.get("PublicKeyList").is_some() {
        inv.key_files.push(KeyFile {
            path: src.display.clone(),
            bytes: Vec::new(),
            json: Some(json),
            region_hint: s3key::region_in_name(&name),
        });
        "keys"
    } else if config::classify(&json, &name).is_some() {
        inv.configs.push(ConfigFile {
            path: src.display.clone(),
            file_name: name,
            json,
        });
        "config"
    } else {
        ignore(inv, &src.display, "JSON of no known export shape");
        "ignored"
    };
    inv.manifest.push(entry(&src, role, &bytes, sha));
}

fn read_sidecar(inv: &mut Inventory, src: Source, size: u64, digest_canonical: String) {
    let bytes = match read_limited(&src.fs_path, MAX_JSON_FILE) {
        Ok(b) => b,
        Err(reason) => {
            inv.manifest.push(ManifestEntry {
                path: src.display.clone(),
                role: "signature",
                size,
                sha256: None,
            });
            ignore(inv, &src.display, &reason);
            return;
        }
    };
    let sha = hex_sha256(&bytes);
    inv.manifest.push(entry(&src, "signature", &bytes, sha));
    let json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            ignore(
                inv,
                &src.display,
                &format!("signature sidecar is not valid JSON ({e}); the digest's signature is taken from the next digest if there is one"),
            );
            return;
        }
    };
    // S3 user metadata keys are case-insensitive; the CLI prints them lower-case.
    let meta = json
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Metadata")))
        .and_then(|(_, v)| v.as_object());
    let field = |name: &str| {
        meta.and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    let sidecar = Sidecar {
        path: src.display.clone(),
        signature: field("signature"),
        algorithm: field("signature-algorithm"),
    };
    inv.sidecars.insert(digest_canonical, sidecar);
}

fn entry(src: &Source, role: &'static str, bytes: &[u8], sha: String) -> ManifestEntry {
    ManifestEntry {
        path: src.display.clone(),
        role,
        size: bytes.len() as u64,
        sha256: Some(sha),
    }
}

fn ignore(inv: &mut Inventory, path: &str, why: &str) {
    inv.ignored += 1;
    inv.findings.push(
        Finding::new(Kind::InputIgnored)
            .message(format!("{path} ignored: {why}"))
            .path(path)
            .evidence(Evidence::default()),
    );
}

/// Hash a file by streaming it (it may be large and is not needed in memory).
fn hash_into_manifest(inv: &mut Inventory, src: &Source, role: &'static str, size: u64) {
    let sha = hash_file(&src.fs_path).ok();
    inv.manifest.push(ManifestEntry {
        path: src.display.clone(),
        role,
        size,
        sha256: sha,
    });
}

pub fn hash_file(p: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or(&[]));
    }
    Ok(hex(&h.finalize()))
}

/// Read a whole file, refusing more than `limit` bytes. The error is a sentence for a finding.
pub fn read_limited(p: &Path, limit: u64) -> std::result::Result<Vec<u8>, String> {
    let f = std::fs::File::open(p).map_err(|e| format!("cannot open: {e}"))?;
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > limit {
        return Err(format!("larger than the {limit}-byte limit for this kind of file"));
    }
    Ok(buf)
}

pub fn hex_sha256(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

pub fn hex(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(H[usize::from(x >> 4)]));
        s.push(char::from(H[usize::from(x & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(
            hex_sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn walks_and_classifies_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("keys")).unwrap();
        std::fs::write(root.join("keys/list-public-keys.us-east-1.json"), br#"{"PublicKeyList":[]}"#).unwrap();
        std::fs::write(root.join("notes.txt"), b"hello").unwrap();
        std::fs::write(root.join("broken.json"), b"{\"a\":").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("loop")).unwrap();
        let inv = discover(&[root.to_path_buf()]).unwrap();
        assert_eq!(inv.key_files.len(), 1);
        assert_eq!(inv.key_files[0].region_hint.as_deref(), Some("us-east-1"));
        let ignored: Vec<&str> = inv.findings.iter().filter_map(|f| f.path.as_deref()).collect();
        assert!(ignored.contains(&"notes.txt"));
        assert!(ignored.contains(&"broken.json"));
        #[cfg(unix)]
        assert!(ignored.contains(&"loop"));
        assert!(inv.manifest.iter().any(|m| m.path == "notes.txt" && m.sha256.is_some()));
    }

    #[test]
    fn missing_input_is_an_error() {
        let e = discover(&[PathBuf::from("/nonexistent/trailproof")]).unwrap_err();
        assert!(matches!(e, Error::InputMissing(_)));
    }
}
