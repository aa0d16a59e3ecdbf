//! Archives read in place: `.tar`, `.tar.gz`/`.tgz`, `.zip`, streamed entry by entry,
//! never extracted to disk.
//!
//! Entry names are untrusted. An absolute name, a `..` component, a link (symbolic or
//! hard), a device or a second entry with the same name is *rejected*: reported to the
//! caller with a reason and never followed or read. Names are normalised to `/`-separated
//! relative paths; a leading `./` is dropped, and so is a first folder named like the archive
//! itself (`bundle.tar.gz` holding `bundle/…`), so that a folder and the same folder archived
//! give the same paths in the report.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Tar,
    TarGz,
    Zip,
}

pub fn kind_of(p: &Path) -> Option<ArchiveKind> {
    let n = p.file_name()?.to_string_lossy().to_ascii_lowercase();
    if n.ends_with(".tar.gz") || n.ends_with(".tgz") {
        Some(ArchiveKind::TarGz)
    } else if n.ends_with(".tar") {
        Some(ArchiveKind::Tar)
    } else if n.ends_with(".zip") {
        Some(ArchiveKind::Zip)
    } else {
        None
    }
}

/// The archive's name without its extension: the folder name a `tar czf NAME.tgz NAME/` holds.
fn stem(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [
        ".tar.gz", ".tgz", ".tar", ".zip", ".TAR.GZ", ".TGZ", ".TAR", ".ZIP",
    ] {
        if let Some(s) = n.strip_suffix(ext) {
            return s.to_owned();
        }
    }
    n
}

/// What the walker hands the caller for each entry.
pub enum Event<'a> {
    File {
        name: String,
        size: u64,
        reader: &'a mut dyn Read,
    },
    Rejected {
        name: String,
        reason: String,
        /// A second entry under a name already read: which copy is the evidence is then
        /// ambiguous (tar extracts the last one), not merely a file left aside.
        duplicate: bool,
    },
}

/// Walk every entry. `f` is called in archive order. A corrupt archive ends the walk with
/// an error after the entries read so far were handed over.
pub fn walk(
    path: &Path,
    kind: ArchiveKind,
    counter: &dyn Fn(u64),
    f: &mut dyn FnMut(Event<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let file = File::open(path)?;
    let top = stem(path);
    let mut seen: HashSet<String> = HashSet::new();
    match kind {
        ArchiveKind::Tar => walk_tar(
            Counting::new(BufReader::new(file), counter),
            &top,
            &mut seen,
            f,
        ),
        ArchiveKind::TarGz => {
            let gz =
                flate2::read::MultiGzDecoder::new(Counting::new(BufReader::new(file), counter));
            walk_tar(gz, &top, &mut seen, f)
        }
        ArchiveKind::Zip => walk_zip(file, &top, &mut seen, counter, f),
    }
}

/// Counts compressed bytes read, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    counter: &'a dyn Fn(u64),
}

impl<'a, R> Counting<'a, R> {
    fn new(inner: R, counter: &'a dyn Fn(u64)) -> Self {
        Counting { inner, counter }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.counter)(n as u64);
        Ok(n)
    }
}

fn walk_tar<R: Read>(
    reader: R,
    top: &str,
    seen: &mut HashSet<String>,
    f: &mut dyn FnMut(Event<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let mut ar = tar::Archive::new(reader);
    for entry in ar.entries()? {
        let mut entry = entry?;
        let raw = crate::discover::name_of_bytes(&entry.path_bytes());
        let et = entry.header().entry_type();
        if et.is_dir() {
            continue;
        }
        if et.is_pax_global_extensions()
            || et.is_pax_local_extensions()
            || et.is_gnu_longname()
            || et.is_gnu_longlink()
        {
            continue;
        }
        let reject = |reason: &str| Event::Rejected {
            name: raw.clone(),
            reason: reason.to_owned(),
            duplicate: false,
        };
        if et.is_symlink() || et.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            f(reject(&format!("a link to `{target}`: not followed")))?;
            continue;
        }
        if !(et.is_file() || et.is_contiguous()) {
            f(reject("not a regular file"))?;
            continue;
        }
        let size = entry.size();
        hand_over(&raw, top, seen, size, &mut entry, f)?;
    }
    Ok(())
}

fn walk_zip(
    file: File,
    top: &str,
    seen: &mut HashSet<String>,
    counter: &dyn Fn(u64),
    f: &mut dyn FnMut(Event<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(io::Error::other)?;
    for i in 0..zip.len() {
        // An entry that cannot be opened (encrypted, unsupported method) is that entry's
        // problem: the entries after it are still read.
        let name = zip
            .name_for_index(i)
            .map_or_else(|| format!("entry #{i}"), str::to_owned);
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                f(Event::Rejected {
                    name,
                    reason: format!("cannot be read: {e}"),
                    duplicate: false,
                })?;
                continue;
            }
        };
        counter(entry.compressed_size());
        let raw = entry.name().to_owned();
        if entry.is_dir() {
            continue;
        }
        let reject = |reason: &str| Event::Rejected {
            name: raw.clone(),
            reason: reason.to_owned(),
            duplicate: false,
        };
        // Unix mode S_IFLNK: the entry's bytes are a link target, not content.
        if entry.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000) {
            f(reject("a symbolic link: not followed"))?;
            continue;
        }
        if entry.enclosed_name().is_none() {
            f(reject("an absolute path or a `..` component: not read"))?;
            continue;
        }
        let size = entry.size();
        hand_over(&raw, top, seen, size, &mut entry, f)?;
    }
    Ok(())
}

/// Hand a regular entry to the caller under its safe name, or reject it.
fn hand_over(
    raw: &str,
    top: &str,
    seen: &mut HashSet<String>,
    size: u64,
    reader: &mut dyn Read,
    f: &mut dyn FnMut(Event<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let (reason, duplicate) = match normalise(raw, top) {
        Ok(name) if seen.insert(name.clone()) => return f(Event::File { name, size, reader }),
        Ok(_) => (
            "a second entry with the same name: only the first is read, while extracting the archive gives the last, so which copy is the evidence is ambiguous",
            true,
        ),
        Err(why) => (why, false),
    };
    f(Event::Rejected {
        name: raw.to_owned(),
        reason: reason.to_owned(),
        duplicate,
    })
}

/// A safe relative name, or why not.
fn normalise(raw: &str, top: &str) -> Result<String, &'static str> {
    let s = raw.replace('\\', "/");
    if s.starts_with('/') || s.get(1..2) == Some(":") {
        return Err("an absolute path: not read");
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in s.split('/') {
        match p {
            "" | "." => {}
            ".." => return Err("a `..` component: not read"),
            p => parts.push(p),
        }
    }
    if parts.len() > 1 && parts.first() == Some(&top) {
        parts.remove(0);
    }
    if parts.is_empty() {
        return Err("an empty name");
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            normalise("./bundle/bucket/a.json", "bundle"),
            Ok("bucket/a.json".into())
        );
        assert_eq!(
            normalise("bucket/a.json", "bundle"),
            Ok("bucket/a.json".into())
        );
        assert_eq!(normalise("bundle", "bundle"), Ok("bundle".into()));
        assert!(normalise("../etc/passwd", "x").is_err());
        assert!(normalise("a/../../b", "x").is_err());
        assert!(normalise("/etc/passwd", "x").is_err());
        assert!(normalise("C:/x", "x").is_err());
        assert_eq!(stem(Path::new("/tmp/bundle.tar.gz")), "bundle");
        assert_eq!(kind_of(Path::new("x.TGZ")), Some(ArchiveKind::TarGz));
        assert_eq!(kind_of(Path::new("x.json")), None);
    }
}
