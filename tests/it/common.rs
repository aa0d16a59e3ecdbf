//! Shared test harness: run the built binary the same way every time.
//!
//! `trailproof()` clears environment variables that could change output (`NO_COLOR`,
//! `RUST_LOG`, `TZ`, `SOURCE_DATE_EPOCH`) so a report depends only on its inputs and flags.

use std::path::PathBuf;

pub fn trailproof() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("trailproof").expect("binary built");
    for v in [
        "NO_COLOR",
        "RUST_LOG",
        "TZ",
        "SOURCE_DATE_EPOCH",
        "CLICOLOR_FORCE",
    ] {
        c.env_remove(v);
    }
    c
}

/// `trailproof verify PATH --format json --deterministic --no-progress` plus `extra`;
/// returns (exit status, parsed report, stderr).
pub fn verify_json(path: &std::path::Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = trailproof()
        .arg("verify")
        .arg(path)
        .args(["--format", "json", "--deterministic", "--no-progress"])
        .args(extra)
        .output()
        .expect("run trailproof");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// The conformance bundles beside the repository (`../shared/conformance`), or
/// `TRAILPROOF_CONFORMANCE` when set.
pub fn conformance_dir() -> PathBuf {
    std::env::var_os("TRAILPROOF_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/conformance"
            ))
        })
}

/// Findings of a report with the given kind.
pub fn findings_of<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["kind"] == kind).collect())
        .unwrap_or_default()
}

/// Every one of `gaps` (coverage_gap findings) has this cause and severity.
pub fn assert_gaps_all(gaps: &[&serde_json::Value], cause: &str, severity: &str) {
    assert!(
        gaps.iter()
            .all(|g| g["cause"] == cause && g["severity"] == severity),
        "want every gap {cause} at {severity}: {gaps:?}"
    );
}

/// Kinds of findings above `info`, sorted, for compact assertions.
pub fn kinds_above_info(report: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["severity"] != "info")
                .filter_map(|f| f["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// A fresh temporary copy of a conformance scenario's bundle, to change one thing in.
pub fn scenario_copy(name_of_any: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dst = dir.path().join("bundle");
    copy_dir(&conformance_dir().join(name_of_any).join("bundle"), &dst);
    (dir, dst)
}

pub fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
            // Conformance files are read-only; copies must be editable.
            let mut perm = std::fs::metadata(&to).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&to, perm).unwrap();
        }
    }
}

/// Every file under `root` whose path contains all of `parts`, sorted.
pub fn files_matching(root: &std::path::Path, parts: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(root)
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            parts.iter().all(|x| s.contains(x))
        })
        .collect();
    out.sort();
    out
}

pub fn walk(root: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A finding of `kind` whose path ends with `path_end` exists.
pub fn has_finding(report: &serde_json::Value, kind: &str, path_end: &str) -> bool {
    findings_of(report, kind)
        .iter()
        .any(|f| f["path"].as_str().is_some_and(|p| p.ends_with(path_end)))
}

/// Zip every file under `root` (names relative to it), plus `extra` written by the caller.
pub fn zip_dir(
    root: &std::path::Path,
    out: &std::path::Path,
    extra: impl FnOnce(&mut zip::ZipWriter<std::fs::File>),
) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut files = walk(root);
    files.sort();
    for p in files {
        let rel = p
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        z.start_file(rel, opts).unwrap();
        std::io::Write::write_all(&mut z, &std::fs::read(&p).unwrap()).unwrap();
    }
    extra(&mut z);
    z.finish().unwrap();
}

/// A `.tar.gz` of `b` under the folder name `bundle`, plus `extra` entries written by the caller.
pub fn tar_with(
    b: &std::path::Path,
    out: &std::path::Path,
    extra: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>),
) {
    let f = std::fs::File::create(out).unwrap();
    let mut t = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    t.append_dir_all("bundle", b).unwrap();
    extra(&mut t);
    t.into_inner().unwrap().finish().unwrap();
}
