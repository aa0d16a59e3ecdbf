//! Discovery and ingestion: the only code that opens the inputs. Read-only, never follows
//! links, reads every file exactly once.
//!
//! Each input (folder, single file, or `.tar`/`.tar.gz`/`.zip` read in place by
//! `archive.rs`) is walked on its own thread into a short queue of files (`pump`). Each file
//! is classified by S3 key shape (`s3key.rs`) or, for exports, by JSON shape, and taken by
//! the next free rayon worker, which does everything that file needs in one pass: a log
//! file is inflated, hashed and parsed (`logfile.rs`), a digest parsed (`digest.rs`), a
//! sidecar, key or configuration export parsed; every file is hashed for the
//! chain-of-custody manifest. Files that are not evidence are hashed by streaming, never
//! held in memory. What survives a file is small and fixed in size whatever its events:
//! its manifest entry and, for a log file, its key, hash and per-hour counts. Those, the
//! digests (their listings apart) and the signature sidecars go into sorted streams
//! (`spill.rs`) that hold a fixed budget in memory and spill the rest to temporary files, so
//! memory does not grow with the bundle; `digest_units.rs` reads the digests back one unit
//! of chains at a time.

use crate::archive::{self, Event};
use crate::config::{self, ConfigFile};
use crate::digest::{self, DigestFile};
use crate::error::{Error, Result};
use crate::findings::{Finding, Kind, Severity};
use crate::hash::Sha256Hash;
use crate::logfile::{self, LogResult};
use crate::progress::Progress;
use crate::s3key::{self, DigestKey, KeyShape, LogKey};
use crate::spill::{Budget, Dec, Enc, Record, Sorted, Spill, SpillError};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest JSON export (keys, configuration, sidecar) read into memory.
pub const MAX_JSON_FILE: u64 = 64 << 20;

/// A file inside an input, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    /// `/`-separated path relative to its input (prefixed by the input when there are several).
    /// Shared with the file's manifest entry.
    pub display: Arc<str>,
}

/// One line of the chain-of-custody manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManifestEntry {
    pub path: Arc<str>,
    pub role: &'static str,
    pub size: u64,
    /// SHA-256 of the bytes as found; `None` when the file could not be read.
    pub sha256: Option<Sha256Hash>,
}

/// The signature of a digest as `aws s3api head-object` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    pub path: String,
    /// `Metadata.signature`, as written (hex expected).
    pub signature: Option<crate::hash::HexText>,
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

/// A log file and what its single read found.
#[derive(Debug, Clone)]
pub struct LogItem {
    pub src: Source,
    pub key: LogKey,
    pub result: LogResult,
    /// Where the canonical key starts in the path (found once: records sort by it).
    canonical_at: u32,
}

impl LogItem {
    pub fn new(src: Source, key: LogKey, result: LogResult) -> Self {
        let canonical_at = s3key::canonical_offset(&src.display).unwrap_or(0);
        LogItem {
            src,
            key,
            result,
            canonical_at,
        }
    }

    /// The canonical key (`AWSLogs/...`), how digests name this file: the tail of its
    /// path, which `s3key::classify` found to be a log key.
    pub fn canonical(&self) -> &str {
        self.src
            .display
            .get(self.canonical_at as usize..)
            .unwrap_or(&self.src.display)
    }

    pub fn file_name(&self) -> &str {
        self.src
            .display
            .rsplit('/')
            .next()
            .unwrap_or(&self.src.display)
    }
}

/// Limits that make hostile files findings instead of crashes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest inflated size of one log or digest file.
    pub max_inflate: u64,
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub roots: Vec<String>,
    /// Log files by canonical key, then path (how digests name them).
    pub logs: Sorted<LogItem>,
    log_spill: Spill<LogItem>,
    /// Every digest's listing, by canonical key of the listed file, then digest.
    pub listings: Sorted<ListedAt>,
    listing_spill: Spill<ListedAt>,
    /// Log files by inflated SHA-256: copies of one file under several names.
    sha_spill: Spill<ShaRec>,
    /// Log files whose bytes an earlier file (by path) already holds: a duplicate
    /// delivery, counted once. In the order of `logs`, so the join reads them alongside.
    pub duplicate_logs: Sorted<Duplicate>,
    budget: Budget,
    /// Earliest and latest log key time.
    pub log_times: Option<(i64, i64)>,
    /// Events that weaken logging, with the file that holds them; sorted by path.
    pub notable: Vec<NotableAt>,
    /// Every digest read, sorted by canonical key, then path: `digest_units.rs` takes them
    /// one unit of chains at a time.
    pub digests: Sorted<DigestFile>,
    digest_spill: Spill<DigestFile>,
    /// Digests read (each one's `seq` is its place in this count).
    pub digest_count: u32,
    /// Per chain (group and trail): the earliest start and latest end its readable
    /// digests sign. The default window comes from these (`lib.rs`).
    pub chain_spans: HashMap<(String, String), (i64, i64)>,
    /// Each digest's chain group (`digest_units::group_of`) with how many digests it holds,
    /// and pairs of groups that a digest links by naming a previous digest in the other:
    /// what `digest_units.rs` must check together.
    pub digest_groups: BTreeMap<String, u32>,
    pub digest_links: BTreeSet<(String, String)>,
    /// Only these accounts (`--account`), when given; other files are listed in the
    /// manifest only.
    accounts: Vec<String>,
    spill_error: Option<SpillError>,
    /// Every sidecar read, with the canonical key of the digest it names, sorted as the
    /// digests are; `digest_units.rs` hands each digest its own (`attach_sidecars`).
    pub sidecars: Sorted<SidecarAt>,
    sidecar_spill: Spill<SidecarAt>,
    pub key_files: Vec<KeyFile>,
    pub configs: Vec<ConfigFile>,
    /// Every input file; `lib.rs` adds `--public-key` files and finishes it.
    pub manifest: Spill<ManifestEntry>,
    /// Files that are not evidence, or cannot be read; `lib.rs` adds the other stages'.
    pub findings: Spill<Finding>,
    /// Other bucket objects, recognised and skipped.
    pub skipped: u64,
    pub ignored: u64,
    names: Names,
}

/// One copy of each account, region and prefix name, and of each log place, shared by
/// every key that names it: a million log files of one account and region then hold one
/// pointer each, not a million copies of their strings.
#[derive(Debug, Default)]
struct Names {
    names: HashSet<Arc<str>>,
    places: HashSet<Arc<s3key::LogPlace>>,
}

impl Names {
    fn share(&mut self, name: &mut Arc<str>) {
        match self.names.get(&**name) {
            Some(shared) => *name = shared.clone(),
            None => {
                self.names.insert(name.clone());
            }
        }
    }

    fn share_place(&mut self, place: &mut Arc<s3key::LogPlace>) {
        if let Some(shared) = self.places.get(&**place) {
            *place = shared.clone();
            return;
        }
        // A new place: its strings may already be known from another place or a digest.
        let p = Arc::make_mut(place);
        self.share_base(&mut p.base);
        self.share(&mut p.region);
        self.places.insert(place.clone());
    }

    fn share_base(&mut self, base: &mut s3key::KeyBase) {
        self.share(&mut base.prefix);
        self.share(&mut base.account);
        if let Some(org) = &mut base.org {
            self.share(org);
        }
    }
}

/// What a file needs, decided from its name alone before it is read.
#[derive(Debug, Clone)]
enum Need {
    Log(LogKey),
    Digest(DigestKey),
    Sidecar(String),
    Json,
    /// Named like an export but not `.json` (`aws ... > describe-trails.txt`): read as one
    /// when it is JSON, else only hashed.
    MaybeJson,
    Pem,
    /// Hashed for the manifest only.
    HashOnly(&'static str),
    /// The metadata macOS writes beside files it copies (`._NAME`, `__MACOSX/`): hashed,
    /// listed as ignored at info, never read as the export it is named after.
    OsMetadata,
}

fn need_of(display: &str) -> Need {
    let name = display
        .rsplit('/')
        .next()
        .unwrap_or(display)
        .to_ascii_lowercase();
    if name.starts_with("._") || display.split('/').any(|s| s == "__MACOSX") {
        return Need::OsMetadata;
    }
    if let Some(digest_path) = display.strip_suffix(".head.json") {
        if let KeyShape::Digest(k) = s3key::classify(digest_path) {
            return Need::Sidecar(k.canonical);
        }
    }
    match s3key::classify(display) {
        KeyShape::Log(k) => Need::Log(k),
        KeyShape::Digest(k) => Need::Digest(k),
        KeyShape::OtherBucketObject => Need::HashOnly("skipped"),
        KeyShape::Unknown if name.ends_with(".json") => Need::Json,
        KeyShape::Unknown if name.ends_with(".pem") || name.ends_with(".pub") => Need::Pem,
        // An export saved under another extension (`aws ... > describe-trails.txt`) or none
        // is still recognised by its JSON shape.
        KeyShape::Unknown if names_an_export(&name) => Need::MaybeJson,
        KeyShape::Unknown => Need::HashOnly("ignored"),
    }
}

/// A file only named like an export, too big for one, is hashed like any other file (by
/// streaming, so that its manifest entry keeps its SHA-256).
fn sized(need: Need, size: u64) -> Need {
    match need {
        Need::MaybeJson if size > MAX_JSON_FILE => Need::HashOnly("ignored"),
        need => need,
    }
}

/// The result of reading one file. It only passes from a worker to the inventory, so the
/// size of its largest variant costs nothing kept; boxing a log would cost an allocation
/// per file.
#[allow(clippy::large_enum_variant)]
enum Item {
    Log(LogItem, ManifestEntry),
    Digest(Box<DigestFile>, ManifestEntry),
    Sidecar(String, Sidecar, ManifestEntry),
    Key(KeyFile, ManifestEntry),
    Config(ConfigFile, ManifestEntry),
    Skipped(ManifestEntry),
    Ignored(ManifestEntry, Finding),
}

/// Read every input. Errors only when an input itself is missing or cannot be opened, or
/// when the temporary files of `budget` cannot be written. `accounts`: only these, if any.
pub fn discover(
    inputs: &[PathBuf],
    limits: Limits,
    budget: &Budget,
    accounts: &[String],
    progress: &Progress,
) -> Result<Inventory> {
    let mut inv = Inventory {
        log_spill: Spill::new(budget.clone()),
        listing_spill: Spill::new(budget.clone()),
        sha_spill: Spill::new(budget.clone()),
        manifest: Spill::new(budget.clone()),
        findings: Spill::new(budget.clone()),
        digest_spill: Spill::new(budget.clone()),
        sidecar_spill: Spill::new(budget.clone()),
        accounts: accounts.to_vec(),
        budget: budget.clone(),
        ..Inventory::default()
    };
    let several = inputs.len() > 1;
    for root in inputs {
        let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::InputMissing(root.clone()),
            _ => Error::InputUnreadable {
                path: root.clone(),
                source: e,
            },
        })?;
        let label = root.to_string_lossy().replace('\\', "/");
        inv.roots.push(label.clone());
        let prefix = several.then(|| format!("{}/", label.trim_end_matches('/')));
        let shown = |rel: &str| match &prefix {
            Some(p) => format!("{p}{rel}"),
            None => rel.to_owned(),
        };
        if meta.is_file() {
            if let Some(kind) = archive::kind_of(root) {
                // The archive itself is the object handed over: it goes into the manifest.
                inv.absorb(Item::Skipped(ManifestEntry {
                    path: label.as_str().into(),
                    role: "archive",
                    size: meta.len(),
                    sha256: hash_file(root).ok(),
                }));
                progress.add_total(meta.len());
                read_archive(root, kind, &shown, limits, progress, &mut inv)?;
                continue;
            }
            // A single file is named as given: its folders are what tell a log or digest
            // key (`…/AWSLogs/ACCOUNT/CloudTrail/…`), and the path is one that exists.
            progress.add_total(meta.len());
            inv.absorb(ingest_path(
                label.clone(),
                root,
                Some(meta.len()),
                limits,
                progress,
            ));
            continue;
        }
        // A folder that cannot even be listed is no bundle: an error, not a finding.
        if let Err(e) = std::fs::read_dir(root) {
            return Err(Error::InputUnreadable {
                path: root.clone(),
                source: e,
            });
        }
        read_folder(root, &label, &shown, limits, progress, &mut inv);
    }
    inv.finish();
    match inv.spill_error.take() {
        Some(e) => Err(Error::Spill(e)),
        None => Ok(inv),
    }
}

/// A file name as the report shows it: bytes that are not UTF-8 as `\xNN`, and `\` as
/// `\\`, so that two names stay two names (a lossy `U+FFFD` would merge them, and an
/// unescaped `\` would let a name spelling `\xff` pass for one holding 0xFF).
pub fn name_of(name: &std::ffi::OsStr) -> String {
    #[cfg(unix)]
    {
        escaped(std::os::unix::ffi::OsStrExt::as_bytes(name), true)
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned()
    }
}

/// An archive entry's name: bytes that are not UTF-8 as `\xNN`. (`\` is left alone: it
/// is a folder separator in archives written on Windows, which `archive` normalises.)
pub fn name_of_bytes(bytes: &[u8]) -> String {
    escaped(bytes, false)
}

fn escaped(bytes: &[u8], backslash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        if backslash {
            out.push_str(&chunk.valid().replace('\\', "\\\\"));
        } else {
            out.push_str(chunk.valid());
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| name_of(c.as_os_str()))
        .collect::<Vec<_>>()
        .join("/")
}

/// A file found by a walker thread, for a worker to read.
enum Work {
    /// A file on disk, read by the worker.
    Path {
        display: String,
        path: PathBuf,
        /// Known only when a progress bar wants the total ahead of the reading.
        size: Option<u64>,
    },
    /// An archive entry, already read by the archive's reader thread.
    Bytes {
        display: String,
        need: Need,
        bytes: Vec<u8>,
        size: u64,
    },
}

/// Run `produce` on its own thread, handing files to the run's worker pool through a short
/// queue while it goes on walking; every result goes straight into `inv`. `produce` gets the
/// queue (a send fails only if the workers stopped) and a list for items it makes itself.
/// Returns what `produce` returned and how many files the workers read.
fn pump<R: Send>(
    inv: &mut Inventory,
    limits: Limits,
    progress: &Progress,
    produce: impl FnOnce(&std::sync::mpsc::SyncSender<Vec<Work>>, &mut Vec<Item>) -> R + Send,
    failed: impl FnOnce() -> R,
) -> (R, usize) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Work>>(rayon::current_num_threads() * 4);
    // The producer runs on its own thread; the workers consume on this thread, which is
    // inside the run's rayon pool, so `--threads` holds.
    let (produced, local, read) = std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut local = Vec::new();
            let r = produce(&tx, &mut local);
            drop(tx);
            (r, local)
        });
        // `par_bridge` hands out one small batch at a time (`WALK_BATCH` files, or one or
        // two archive entries): no worker idles long while another has files of uneven cost,
        // and hand-overs and locks are paid per batch, not per file.
        let shared = std::sync::Mutex::new((&mut *inv, 0usize));
        rx.into_iter()
            .par_bridge()
            .map(|batch| ingest_batch(batch, limits, progress))
            .for_each(|items| {
                if let Ok(mut g) = shared.lock() {
                    g.1 += items.len();
                    for item in items {
                        g.0.absorb(item);
                    }
                }
            });
        let read = shared.into_inner().map_or(0, |g| g.1);
        let (r, local) = producer.join().unwrap_or_else(|_| (failed(), Vec::new()));
        (r, local, read)
    });
    let made = local.len();
    for item in local {
        inv.absorb(item);
    }
    (produced, read + made)
}

/// An archive's log entry waits for a second one (to be analysed in a pair) only if it is at
/// most this large, compressed: entries go to the workers through a queue of up to
/// threads × 4 batches, which pairs of larger entries would make twice as heavy. CloudTrail's
/// log files are far smaller.
const PAIR_ENTRY_MAX: usize = 1 << 20;

/// Files of a folder handed to a worker at once (its log files analysed in pairs). Archive
/// entries go one by one, log entries in pairs: they are already in memory.
const WALK_BATCH: usize = 4;

/// Walk a folder (sorted, links never followed) and read its files in parallel.
fn read_folder(
    root: &Path,
    label: &str,
    shown: &(dyn Fn(&str) -> String + Sync),
    limits: Limits,
    progress: &Progress,
    inv: &mut Inventory,
) {
    let walk = |tx: &std::sync::mpsc::SyncSender<Vec<Work>>, local: &mut Vec<Item>| {
        let mut batch = Vec::with_capacity(WALK_BATCH);
        // The root is what the user named, link or not; links inside it are not followed.
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .follow_root_links(true)
            .sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let p = e
                        .path()
                        .map(|p| shown(&relative(root, p)))
                        .unwrap_or_else(|| label.to_owned());
                    // Evidence that could be there and cannot be read: the verdict cannot
                    // speak for it, so it fails the run at the default `--fail-on`.
                    local.push(ignored(
                        &p,
                        0,
                        None,
                        &format!("cannot be read: {e}"),
                        Severity::Medium,
                    ));
                    continue;
                }
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let display = shown(&relative(root, entry.path()));
            if ft.is_symlink() {
                local.push(ignored(
                    &display,
                    0,
                    None,
                    "a symbolic link: not followed (evidence is read only where it sits)",
                    Severity::Info,
                ));
                continue;
            }
            if !ft.is_file() {
                local.push(ignored(
                    &display,
                    0,
                    None,
                    "not a regular file",
                    Severity::Info,
                ));
                continue;
            }
            // A file's size costs a system call; the worker learns it from the open file
            // unless a progress bar needs the total now.
            let size = progress
                .shown()
                .then(|| entry.metadata().map_or(0, |m| m.len()));
            progress.add_total(size.unwrap_or(0));
            batch.push(Work::Path {
                display,
                path: entry.into_path(),
                size,
            });
            if batch.len() == WALK_BATCH && tx.send(std::mem::take(&mut batch)).is_err() {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
    };
    pump(inv, limits, progress, walk, || ());
}

/// Stream an archive's entries to the worker pool: one reader thread, bounded hand-over.
fn read_archive(
    root: &Path,
    kind: archive::ArchiveKind,
    shown: &(dyn Fn(&str) -> String + Sync),
    limits: Limits,
    progress: &Progress,
    inv: &mut Inventory,
) -> Result<()> {
    let label = root.to_string_lossy().replace('\\', "/");
    let read_entries = |tx: &std::sync::mpsc::SyncSender<Vec<Work>>, local: &mut Vec<Item>| {
        let counter = |n: u64| progress.advance(n);
        // A log entry waits for the next one, so that workers get them in pairs (hashed
        // together: `ingest_logs`); anything else (and a log too large to hold) goes at once.
        let mut waiting: Option<Work> = None;
        let mut on_entry = |ev: Event<'_>| -> std::io::Result<()> {
            match ev {
                Event::Rejected {
                    name,
                    reason,
                    duplicate,
                } => {
                    let severity = if duplicate {
                        Severity::High
                    } else {
                        Severity::Low
                    };
                    local.push(ignored(
                        &shown(&name),
                        0,
                        None,
                        &format!("archive entry {reason}"),
                        severity,
                    ));
                }
                Event::File { name, size, reader } => {
                    let display = shown(&name);
                    match sized(need_of(&display), size) {
                        Need::HashOnly(role) => {
                            let sha = hash_reader(reader).ok();
                            local.push(hash_only(display.into(), role, size, sha));
                        }
                        Need::OsMetadata => {
                            let sha = hash_reader(reader).ok();
                            local.push(os_metadata(display.into(), size, sha));
                        }
                        need => {
                            let cap = match need {
                                Need::Json | Need::MaybeJson | Need::Pem | Need::Sidecar(_) => {
                                    MAX_JSON_FILE
                                }
                                _ => limits.max_inflate,
                            };
                            match read_capped_sized(reader, cap, size) {
                                Ok(bytes) => {
                                    let log = matches!(need, Need::Log(_))
                                        && bytes.len() <= PAIR_ENTRY_MAX;
                                    let work = Work::Bytes {
                                        display,
                                        need,
                                        bytes,
                                        size,
                                    };
                                    let batch = match (log, waiting.take()) {
                                        (true, None) => {
                                            waiting = Some(work);
                                            None
                                        }
                                        (true, Some(first)) => Some(vec![first, work]),
                                        (false, w) => {
                                            waiting = w;
                                            Some(vec![work])
                                        }
                                    };
                                    // Closed only if the workers died: stop reading then.
                                    if batch.is_some_and(|b| tx.send(b).is_err()) {
                                        return Err(std::io::Error::other("worker pool stopped"));
                                    }
                                }
                                Err(why) => {
                                    local.push(ignored(&display, size, None, &why, Severity::Low))
                                }
                            }
                        }
                    }
                }
            }
            Ok(())
        };
        let walked = archive::walk(root, kind, &counter, &mut on_entry);
        // Whatever happened to the archive, an entry already read is analysed.
        if let Some(w) = waiting.take() {
            let _ = tx.send(vec![w]);
        }
        walked
    };
    let (walked, found) = pump(inv, limits, progress, read_entries, || {
        Err(std::io::Error::other("archive reader failed"))
    });
    if let Err(e) = walked {
        if found == 0 {
            // Nothing could be read at all: the archive is not usable as an input.
            return Err(Error::InputUnreadable {
                path: root.to_path_buf(),
                source: e,
            });
        }
        inv.absorb(Item::Ignored(
            ManifestEntry {
                path: label.as_str().into(),
                role: "archive",
                size: 0,
                sha256: None,
            },
            Finding::new(Kind::InputIgnored)
                .severity(Severity::Medium)
                .path(&label)
                .message(format!(
                    "archive {label} is corrupt or truncated ({e}); entries after the damage were not read"
                )),
        ));
    }
    Ok(())
}

/// Read one batch of files. Log files go two at a time (`ingest_logs`): their inflated
/// bytes are hashed together.
fn ingest_batch(batch: Vec<Work>, limits: Limits, progress: &Progress) -> Vec<Item> {
    let mut items = Vec::with_capacity(batch.len());
    let mut waiting: Option<LogBytes> = None;
    for w in batch {
        let read = match w {
            Work::Path {
                display,
                path,
                size,
            } => read_path(display, &path, size, limits, progress),
            Work::Bytes {
                display,
                need,
                bytes,
                size,
            } => read_bytes(display.into(), need, bytes, size, limits, progress),
        };
        match (read, waiting.take()) {
            (Got::Done(item), w) => {
                items.push(item);
                waiting = w;
            }
            // Too large to hold while reading another: alone, at once.
            (Got::Log(log), w) if log.bytes.len() > logfile::PAIR_MAX => {
                items.push(ingest_logs(log, None, limits, progress).0);
                waiting = w;
            }
            (Got::Log(log), None) => waiting = Some(log),
            (Got::Log(log), Some(first)) => {
                let (a, b) = ingest_logs(first, Some(log), limits, progress);
                items.push(a);
                items.extend(b);
            }
        }
    }
    if let Some(log) = waiting {
        items.push(ingest_logs(log, None, limits, progress).0);
    }
    items
}

/// What reading a file gave: the finished item, or a log file's bytes, still to be
/// inflated, hashed and parsed. (Moved once, at once: its size does not matter.)
#[allow(clippy::large_enum_variant)]
enum Got {
    Done(Item),
    Log(LogBytes),
}

/// A log file's compressed bytes.
struct LogBytes {
    display: Arc<str>,
    key: LogKey,
    bytes: Vec<u8>,
}

/// Inflate, hash and parse one log file, or two (hashed together, in about the time of
/// one: `hash::sha256_two`), compressed bytes and inflated.
fn ingest_logs(
    a: LogBytes,
    b: Option<LogBytes>,
    limits: Limits,
    progress: &Progress,
) -> (Item, Option<Item>) {
    let (mut ra, mut rb) = (LogResult::default(), LogResult::default());
    let (sa, sb) = match &b {
        Some(b) => {
            let (sa, sb) = crate::hash::sha256_two(&a.bytes, &b.bytes);
            logfile::with_buffers(|x, y| {
                logfile::analyse_two(
                    [&a.bytes, &b.bytes],
                    limits.max_inflate,
                    [x, y],
                    [&mut ra, &mut rb],
                )
            });
            (sa, Some(sb))
        }
        None => {
            logfile::with_buffer(|x| {
                logfile::analyse_compressed(&a.bytes, limits.max_inflate, x, &mut ra)
            });
            (Sha256Hash::of(&a.bytes), None)
        }
    };
    let item = move |l: LogBytes, sha: Sha256Hash, result: LogResult| {
        progress.file_done();
        let entry = ManifestEntry {
            path: l.display.clone(),
            role: "log",
            size: l.bytes.len() as u64,
            sha256: Some(sha),
        };
        log_item(l.display, l.key, result, entry)
    };
    let first = item(a, sa, ra);
    (first, b.zip(sb).map(|(b, sb)| item(b, sb, rb)))
}

/// A log file's item. The compressed file's size and hash live in its manifest entry only.
fn log_item(display: Arc<str>, key: LogKey, result: LogResult, entry: ManifestEntry) -> Item {
    Item::Log(LogItem::new(Source { display }, key, result), entry)
}

/// One file, read and then (a log file alone) analysed.
fn ingest_path(
    display: String,
    path: &Path,
    size: Option<u64>,
    limits: Limits,
    progress: &Progress,
) -> Item {
    read_path(display, path, size, limits, progress).item(limits, progress)
}

impl Got {
    /// The item, a log file analysed alone.
    fn item(self, limits: Limits, progress: &Progress) -> Item {
        match self {
            Got::Done(item) => item,
            Got::Log(log) => ingest_logs(log, None, limits, progress).0,
        }
    }
}

fn read_path(
    display: String,
    path: &Path,
    size: Option<u64>,
    limits: Limits,
    progress: &Progress,
) -> Got {
    let opened = std::fs::File::open(path);
    let size = size.unwrap_or_else(|| {
        match &opened {
            Ok(f) => f.metadata(),
            // A file that cannot be opened may still say its size (permissions): the
            // manifest keeps it.
            Err(_) => std::fs::symlink_metadata(path),
        }
        .map_or(0, |m| m.len())
    });
    let hash =
        |opened: std::io::Result<std::fs::File>| opened.and_then(|mut f| hash_reader(&mut f)).ok();
    let need = sized(need_of(&display), size);
    let display: Arc<str> = display.into();
    let item = match need {
        Need::HashOnly(role) => hash_only(display, role, size, hash(opened)),
        Need::OsMetadata => os_metadata(display, size, hash(opened)),
        need => {
            let cap = match need {
                Need::Json | Need::MaybeJson | Need::Pem | Need::Sidecar(_) => MAX_JSON_FILE,
                // A compressed file larger than its inflate limit cannot be a real one.
                _ => limits.max_inflate,
            };
            let read = opened
                .map_err(|e| format!("cannot open: {e}"))
                .and_then(|mut f| read_capped_sized(&mut f, cap, size));
            match read {
                Ok(bytes) => {
                    progress.advance(size);
                    return read_bytes(display, need, bytes, size, limits, progress);
                }
                Err(why) => ignored_need(display, size, &need, &why),
            }
        }
    };
    progress.advance(size);
    progress.file_done();
    Got::Done(item)
}

/// A file of a kind we need whose bytes could not be read: for logs and digests that is a
/// finding of their own kind, so that a listed file is never silently missing.
fn ignored_need(display: Arc<str>, size: u64, need: &Need, why: &str) -> Item {
    let entry = |role| ManifestEntry {
        path: display.clone(),
        role,
        size,
        sha256: None,
    };
    match need {
        Need::Log(k) => {
            let result = LogResult {
                error: Some(why.into()),
                ..LogResult::default()
            };
            Item::Log(
                LogItem::new(
                    Source {
                        display: display.clone(),
                    },
                    k.clone(),
                    result,
                ),
                entry("log"),
            )
        }
        Need::Digest(k) => {
            let d = digest::unreadable(display.clone(), k.clone(), size, why);
            Item::Digest(Box::new(d), entry("digest"))
        }
        _ => ignored(&display, size, None, why, Severity::Low),
    }
}

/// Everything one file needs, from its bytes. Runs on a worker thread.
#[cfg(test)]
fn ingest_bytes(
    display: Arc<str>,
    need: Need,
    bytes: Vec<u8>,
    size: u64,
    limits: Limits,
    progress: &Progress,
) -> Item {
    read_bytes(display, need, bytes, size, limits, progress).item(limits, progress)
}

/// A file's bytes: a log file's are handed back to be analysed (two at a time), anything
/// else is finished here. Runs on a worker thread.
fn read_bytes(
    display: Arc<str>,
    need: Need,
    bytes: Vec<u8>,
    size: u64,
    limits: Limits,
    progress: &Progress,
) -> Got {
    let need = match need {
        Need::Log(key) => {
            return Got::Log(LogBytes {
                display,
                key,
                bytes,
            })
        }
        need => need,
    };
    let sha = Sha256Hash::of(&bytes);
    let entry = |role: &'static str| ManifestEntry {
        path: display.clone(),
        role,
        size: bytes.len() as u64,
        sha256: Some(sha),
    };
    let name = display.rsplit('/').next().unwrap_or(&display).to_owned();
    let item = match need {
        // Handed back above, to be analysed two at a time; alone here all the same.
        Need::Log(key) => {
            let mut result = LogResult::default();
            logfile::with_buffer(|buf| {
                logfile::analyse_compressed(&bytes, limits.max_inflate, buf, &mut result)
            });
            log_item(display.clone(), key, result, entry("log"))
        }
        Need::Digest(key) => {
            let d = digest::from_bytes(display.clone(), key, &bytes, limits.max_inflate);
            Item::Digest(Box::new(d), entry("digest"))
        }
        Need::Sidecar(canonical) => match sidecar_of(&display, &bytes) {
            Ok(s) => Item::Sidecar(canonical, s, entry("signature")),
            Err(why) => Item::Ignored(
                entry("signature"),
                ignored_finding(&display, &why, Severity::Info),
            ),
        },
        Need::Pem => {
            if String::from_utf8_lossy(&bytes).contains("PUBLIC KEY-----") {
                Item::Key(
                    KeyFile {
                        path: display.to_string(),
                        region_hint: s3key::region_in_name(&name),
                        bytes: bytes.clone(),
                        json: None,
                    },
                    entry("keys"),
                )
            } else {
                Item::Ignored(
                    entry("ignored"),
                    ignored_finding(&display, "not a PEM public key", Severity::Info),
                )
            }
        }
        // A UTF-8 byte-order mark (Windows PowerShell writes one) is not JSON, but no reason
        // to lose the export.
        Need::Json => match serde_json::from_slice::<serde_json::Value>(without_bom(&bytes)) {
            // An export named like one the tool reads, yet corrupt: the answer it would
            // give (configuration, keys) is missing, which fails the run.
            Err(e) if names_an_export(&name) => Item::Ignored(
                entry("ignored"),
                ignored_finding(
                    &display,
                    &format!("named like a configuration or key export, but not valid JSON ({e}): what it would prove is missing"),
                    Severity::Medium,
                ),
            ),
            Err(e) => Item::Ignored(
                entry("ignored"),
                ignored_finding(&display, &format!("not valid JSON ({e})"), Severity::Info),
            ),
            Ok(json) => json_export(&display, name, json, &entry),
        },
        Need::MaybeJson => match serde_json::from_slice::<serde_json::Value>(without_bom(&bytes)) {
            Ok(json) => json_export(&display, name, json, &entry),
            Err(_) => hash_only(display.clone(), "ignored", size, Some(sha)),
        },
        Need::HashOnly(role) => hash_only(display.clone(), role, size, Some(sha)),
        Need::OsMetadata => os_metadata(display.clone(), size, Some(sha)),
    };
    progress.file_done();
    Got::Done(item)
}

/// A JSON file: public keys, a configuration export, or ignored.
fn json_export(
    display: &Arc<str>,
    name: String,
    json: serde_json::Value,
    entry: &dyn Fn(&'static str) -> ManifestEntry,
) -> Item {
    if json.get("PublicKeyList").is_some() {
        Item::Key(
            KeyFile {
                path: display.to_string(),
                bytes: Vec::new(),
                json: Some(json),
                region_hint: s3key::region_in_name(&name),
            },
            entry("keys"),
        )
    } else if config::classify(&json, &name).is_some() {
        Item::Config(
            ConfigFile {
                path: display.to_string(),
                file_name: name,
                json,
            },
            entry("config"),
        )
    } else {
        Item::Ignored(
            entry("ignored"),
            ignored_finding(display, "JSON of no known export shape", Severity::Info),
        )
    }
}

/// File names of the exports README asks for (`describe-trails.json`, `get-trail-status.NAME.json`,
/// `list-public-keys.REGION.json`, Terraform state...).
fn names_an_export(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "describe-trails",
        "get-trail",
        "get-event-selectors",
        "list-public-keys",
        "describe-organization",
        "terraform",
        "tfstate",
    ]
    .iter()
    .any(|p| name.contains(p))
}

fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn sidecar_of(display: &str, bytes: &[u8]) -> std::result::Result<Sidecar, String> {
    let json: serde_json::Value = serde_json::from_slice(without_bom(bytes)).map_err(|e| {
        format!("signature sidecar is not valid JSON ({e}); the digest's signature is taken from the next digest if there is one")
    })?;
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
    Ok(Sidecar {
        path: display.to_owned(),
        signature: field("signature").map(|t| crate::hash::HexText::new(&t)),
        algorithm: field("signature-algorithm"),
    })
}

fn hash_only(display: Arc<str>, role: &'static str, size: u64, sha: Option<Sha256Hash>) -> Item {
    let m = ManifestEntry {
        path: display.clone(),
        role,
        size,
        sha256: sha,
    };
    if role == "skipped" {
        Item::Skipped(m)
    } else {
        let f = ignored_finding(
            &display,
            "not a CloudTrail object, key or configuration export",
            Severity::Info,
        );
        Item::Ignored(m, f)
    }
}

fn os_metadata(display: Arc<str>, size: u64, sha: Option<Sha256Hash>) -> Item {
    ignored(
        &display,
        size,
        sha,
        "macOS file metadata (`._NAME` or `__MACOSX/`), not evidence",
        Severity::Info,
    )
}

fn ignored(
    display: &str,
    size: u64,
    sha: Option<Sha256Hash>,
    why: &str,
    severity: Severity,
) -> Item {
    Item::Ignored(
        ManifestEntry {
            path: display.into(),
            role: "ignored",
            size,
            sha256: sha,
        },
        ignored_finding(display, why, severity),
    )
}

fn ignored_finding(display: &str, why: &str, severity: Severity) -> Finding {
    Finding::new(Kind::InputIgnored)
        .severity(severity)
        .message(format!("{display} ignored: {why}"))
        .path(display)
}

impl Inventory {
    /// File one item where it belongs.
    fn absorb(&mut self, item: Item) {
        if let Err(e) = self.absorb_item(item) {
            self.spill_error.get_or_insert(e);
        }
    }

    fn selected(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }

    fn absorb_item(&mut self, item: Item) -> std::result::Result<(), SpillError> {
        match item {
            Item::Log(mut l, m) => {
                self.manifest.push(m)?;
                if !self.selected(&l.key.base.account) {
                    return Ok(());
                }
                self.names.share_place(&mut l.key.place);
                let t = l.key.time;
                self.log_times = Some(self.log_times.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
                for n in std::mem::take(&mut l.result.notable) {
                    self.notable.push(NotableAt {
                        src: l.src.clone(),
                        key: l.key.clone(),
                        notable: n,
                    });
                }
                if let Some(sha) = l.result.sha256 {
                    self.sha_spill.push(ShaRec {
                        sha,
                        path: l.src.display.clone(),
                    })?;
                }
                self.log_spill.push(l)?;
            }
            Item::Digest(mut d, m) => {
                self.manifest.push(m)?;
                if !self.selected(&d.key.base.account) {
                    return Ok(());
                }
                let seq = self.digest_count;
                self.digest_count = self.digest_count.saturating_add(1);
                d.seq = seq;
                let group = crate::digest_units::group_of(&d.key.canonical);
                if let Ok(c) = &mut d.content {
                    for (pos, listed) in std::mem::take(&mut c.log_files).into_iter().enumerate() {
                        let pos = u32::try_from(pos).unwrap_or(u32::MAX);
                        self.listing_spill.push(ListedAt { seq, pos, listed })?;
                    }
                    let chain = (group.to_owned(), d.key.trail.clone());
                    let span = self.chain_spans.entry(chain).or_insert((c.start, c.end));
                    *span = (span.0.min(c.start), span.1.max(c.end));
                    if let Some(prev) = c.prev_canonical() {
                        let to = crate::digest_units::group_of(prev);
                        if to != group {
                            self.digest_links.insert((group.to_owned(), to.to_owned()));
                        }
                    }
                }
                match self.digest_groups.get_mut(group) {
                    Some(n) => *n += 1,
                    None => {
                        self.digest_groups.insert(group.to_owned(), 1);
                    }
                }
                self.digest_spill.push(*d)?;
            }
            Item::Sidecar(canonical, sidecar, m) => {
                self.sidecar_spill.push(SidecarAt { canonical, sidecar })?;
                self.manifest.push(m)?;
            }
            Item::Key(k, m) => {
                self.key_files.push(k);
                self.manifest.push(m)?;
            }
            Item::Config(c, m) => {
                self.configs.push(c);
                self.manifest.push(m)?;
            }
            Item::Skipped(m) => {
                if m.role == "skipped" {
                    self.skipped += 1;
                }
                self.manifest.push(m)?;
            }
            Item::Ignored(m, f) => {
                self.ignored += 1;
                self.manifest.push(m)?;
                self.findings.push(f)?;
            }
        }
        Ok(())
    }

    /// Sort everything, deterministically whatever order workers finished in.
    fn finish(&mut self) {
        self.logs = std::mem::take(&mut self.log_spill).finish();
        self.listings = std::mem::take(&mut self.listing_spill).finish();
        if let Err(e) = self.find_duplicates() {
            self.spill_error.get_or_insert(e);
        }
        // Stable: a file's own events keep their order.
        self.notable
            .sort_by(|a, b| a.src.display.cmp(&b.src.display));
        self.digests = std::mem::take(&mut self.digest_spill).finish();
        self.sidecars = std::mem::take(&mut self.sidecar_spill).finish();
        self.key_files.sort_by(|a, b| a.path.cmp(&b.path));
        self.configs.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// Copies of one S3 object (same canonical key, same bytes) under several paths: all but
    /// the first by path are duplicates (a sorted stream too: two copies of a bucket make
    /// every file one). The same bytes under another key are no copy of that object but a
    /// file of their own (AWS never writes one file twice): judged as such, they cannot
    /// take the place of the file they copy.
    fn find_duplicates(&mut self) -> std::result::Result<(), SpillError> {
        let shas = std::mem::take(&mut self.sha_spill).finish();
        let mut dups = Spill::new(self.budget.clone());
        let mut prev: Option<ShaRec> = None;
        for r in shas.iter()? {
            let r = r?;
            if prev
                .as_ref()
                .is_some_and(|p| p.sha == r.sha && p.canonical() == r.canonical())
            {
                dups.push(Duplicate::new(r.path.clone()))?;
            }
            prev = Some(r);
        }
        self.duplicate_logs = dups.finish();
        Ok(())
    }
}

/// An event that weakens logging, and the log file that holds it.
#[derive(Debug, Clone)]
pub struct NotableAt {
    pub src: Source,
    pub key: LogKey,
    pub notable: logfile::Notable,
}

/// Each digest gets the sidecar beside it (its own path plus `.head.json`, SPEC). One that
/// has none beside it gets a sidecar kept elsewhere under its key, the first by path, when
/// no other copy of that digest (another input holding the same key) could be the one it
/// belongs to. `digests` and `sidecars`: all those of some canonical keys (a unit of chains).
pub fn attach_sidecars(digests: &mut [DigestFile], mut sidecars: Vec<SidecarAt>) {
    sidecars.sort_by(|a, b| a.sidecar.path.cmp(&b.sidecar.path));
    let beside: HashMap<&str, usize> = sidecars
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((s.sidecar.path.strip_suffix(".head.json")?, i)))
        .collect();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (i, s) in sidecars.iter().enumerate() {
        by_key.entry(s.canonical.as_str()).or_insert(i);
    }
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for d in digests.iter() {
        *copies.entry(d.key.canonical.as_str()).or_default() += 1;
    }
    let chosen: Vec<Option<usize>> = digests
        .iter()
        .map(|d| {
            beside.get(&*d.src.display).copied().or_else(|| {
                let key = d.key.canonical.as_str();
                (copies.get(key) == Some(&1))
                    .then(|| by_key.get(key).copied())
                    .flatten()
            })
        })
        .collect();
    for (d, i) in digests.iter_mut().zip(chosen) {
        d.sidecar = i.and_then(|i| sidecars.get(i)).map(|s| s.sidecar.clone());
    }
}

/// A signature sidecar with the canonical key of the digest its name names, sorted as
/// digests are (canonical key, then path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarAt {
    pub canonical: String,
    pub sidecar: Sidecar,
}

impl Record for SidecarAt {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        (&self.canonical, &self.sidecar.path).cmp(&(&o.canonical, &o.sidecar.path))
    }
    fn weight(&self) -> usize {
        let s = &self.sidecar;
        self.canonical.len()
            + s.path.len()
            + s.signature
                .as_ref()
                .map_or(0, crate::hash::HexText::heap_size)
            + s.algorithm.as_ref().map_or(0, String::len)
    }
    fn encode(&self, e: &mut Enc<'_>) {
        let s = &self.sidecar;
        e.str(&self.canonical);
        e.str(&s.path);
        crate::hash::HexText::encode(s.signature.as_ref(), e);
        e.opt_str(s.algorithm.as_deref());
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        Some(SidecarAt {
            canonical: d.str()?.to_owned(),
            sidecar: Sidecar {
                path: d.str()?.to_owned(),
                signature: crate::hash::HexText::decode(d)?,
                algorithm: d.opt_str()?.map(str::to_owned),
            },
        })
    }
}

/// A digest's listing entry, with which digest listed it (`DigestFile::seq`) and where in
/// its `logFiles`.
#[derive(Debug, Clone)]
pub struct ListedAt {
    pub seq: u32,
    pub pos: u32,
    pub listed: digest::Listed,
}

impl Record for ListedAt {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        (self.listed.canonical(), self.seq, self.pos).cmp(&(o.listed.canonical(), o.seq, o.pos))
    }
    fn weight(&self) -> usize {
        self.listed.object.len() + 16
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.u64(u64::from(self.seq));
        e.u64(u64::from(self.pos));
        self.listed.encode(e);
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        Some(ListedAt {
            seq: u32::try_from(d.u64()?).ok()?,
            pos: u32::try_from(d.u64()?).ok()?,
            listed: digest::Listed::decode(d)?,
        })
    }
}

/// A log file that copies an earlier one, ordered as log records are (canonical key, path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    path: Arc<str>,
    canonical_at: u32,
}

impl Duplicate {
    fn new(path: Arc<str>) -> Self {
        let canonical_at = s3key::canonical_offset(&path).unwrap_or(0);
        Duplicate { path, canonical_at }
    }

    /// Where it sorts among log records.
    fn key(&self) -> (&str, &str) {
        let canonical = self
            .path
            .get(self.canonical_at as usize..)
            .unwrap_or(&self.path);
        (canonical, &self.path)
    }

    /// Is this log record the duplicate?
    pub fn is(&self, l: &LogItem) -> bool {
        self.key() == (l.canonical(), &*l.src.display)
    }

    /// Does it sort before this log record (so it can be passed)?
    pub fn before(&self, l: &LogItem) -> bool {
        self.key() < (l.canonical(), &*l.src.display)
    }
}

impl Record for Duplicate {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        self.key().cmp(&o.key())
    }
    fn weight(&self) -> usize {
        self.path.len() + 16
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.str(&self.path);
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        Some(Duplicate::new(d.str()?.into()))
    }
}

/// A log file's inflated hash, for finding copies.
#[derive(Debug, Clone)]
struct ShaRec {
    sha: Sha256Hash,
    path: Arc<str>,
}

impl ShaRec {
    fn canonical(&self) -> &str {
        s3key::canonical_in(&self.path).unwrap_or(&self.path)
    }
}

impl Record for ShaRec {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        (self.sha, self.canonical(), &self.path).cmp(&(o.sha, o.canonical(), &o.path))
    }
    fn weight(&self) -> usize {
        // The path is shared with the log record.
        16
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.opt_hash(Some(&self.sha));
        e.str(&self.path);
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        Some(ShaRec {
            sha: d.opt_hash()??,
            path: d.str()?.into(),
        })
    }
}

/// Every role a manifest entry can have (a record read back names one of these).
const ROLES: [&str; 8] = [
    "archive",
    "config",
    "digest",
    "ignored",
    "keys",
    "log",
    "signature",
    "skipped",
];

impl Record for ManifestEntry {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        self.cmp(o)
    }
    fn weight(&self) -> usize {
        // The path is usually shared with a log record or digest; count it anyway, as a
        // digest's is not kept past its listing.
        self.path.len() + 16
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.str(&self.path);
        e.str(self.role);
        e.u64(self.size);
        e.opt_hash(self.sha256.as_ref());
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        let path = d.str()?.into();
        let role = d.str()?;
        Some(ManifestEntry {
            path,
            role: ROLES.iter().find(|&&r| r == role)?,
            size: d.u64()?,
            sha256: d.opt_hash()?,
        })
    }
}

impl Record for LogItem {
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        (self.canonical(), &self.src.display).cmp(&(o.canonical(), &o.src.display))
    }
    fn weight(&self) -> usize {
        // The place is shared by every file of its account and region.
        self.src.display.len()
            + self.result.hours.len() * std::mem::size_of::<(i64, logfile::HourCount)>()
            + self.result.error.as_ref().map_or(0, |e| e.len())
            + 32
    }
    fn encode(&self, e: &mut Enc<'_>) {
        e.str(&self.src.display);
        let (p, r) = (&self.key.place, &self.result);
        e.str(&p.base.prefix);
        e.opt_str(p.base.org.as_deref());
        e.str(&p.base.account);
        e.str(&p.region);
        e.i64(self.key.time);
        e.opt_hash(r.sha256.as_ref());
        e.opt_str(r.error.as_deref());
        e.u64(r.inflated_size);
        e.u64(r.events);
        e.u64(r.management);
        e.u64(r.hours.len() as u64);
        for (h, c) in &r.hours {
            e.i64(*h);
            e.u64(c.events);
            e.u64(c.management);
        }
        e.opt_i64(r.event_span.map(|s| s.0));
        e.opt_i64(r.event_span.map(|s| s.1));
    }
    fn decode(d: &mut Dec<'_>) -> Option<Self> {
        let display: Arc<str> = d.str()?.into();
        let prefix = d.str()?.into();
        let org = d.opt_str()?.map(Into::into);
        let account = d.str()?.into();
        let region = d.str()?.into();
        let time = d.i64()?;
        let mut r = LogResult {
            sha256: d.opt_hash()?,
            error: d.opt_str()?.map(Into::into),
            inflated_size: d.u64()?,
            events: d.u64()?,
            management: d.u64()?,
            ..LogResult::default()
        };
        let n = d.u64()?;
        for _ in 0..n {
            let h = d.i64()?;
            let c = logfile::HourCount {
                events: d.u64()?,
                management: d.u64()?,
            };
            r.hours.push((h, c));
        }
        r.event_span = match (d.opt_i64()?, d.opt_i64()?) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        Some(LogItem::new(
            Source { display },
            LogKey {
                place: Arc::new(s3key::LogPlace {
                    base: s3key::KeyBase {
                        prefix,
                        org,
                        account,
                    },
                    region,
                }),
                time,
            },
            r,
        ))
    }
}

pub fn hash_file(p: &Path) -> std::io::Result<Sha256Hash> {
    hash_reader(&mut std::fs::File::open(p)?)
}

fn hash_reader(r: &mut dyn Read) -> std::io::Result<Sha256Hash> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or(&[]));
    }
    Ok(Sha256Hash(h.finalize().into()))
}

/// Read a whole file, refusing more than `limit` bytes. The error is a sentence for a finding.
pub fn read_limited(p: &Path, limit: u64) -> std::result::Result<Vec<u8>, String> {
    let mut f = std::fs::File::open(p).map_err(|e| format!("cannot open: {e}"))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    read_capped_sized(&mut f, limit, size)
}

/// `size_hint`: the size the file says it has, to read it without growing the buffer.
fn read_capped_sized(
    r: &mut dyn Read,
    limit: u64,
    size_hint: u64,
) -> std::result::Result<Vec<u8>, String> {
    let cap = usize::try_from(size_hint.min(limit).saturating_add(1)).unwrap_or(0);
    let mut buf = Vec::with_capacity(cap);
    r.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > limit {
        return Err(format!(
            "larger than the {limit}-byte limit for this kind of file"
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_inflate: 1 << 20,
        }
    }

    #[test]
    fn walks_and_classifies_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("keys")).unwrap();
        std::fs::write(
            root.join("keys/list-public-keys.us-east-1.json"),
            br#"{"PublicKeyList":[]}"#,
        )
        .unwrap();
        std::fs::write(root.join("notes.txt"), b"hello").unwrap();
        std::fs::write(root.join("broken.json"), b"{\"a\":").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("loop")).unwrap();
        let inv = discover(
            &[root.to_path_buf()],
            limits(),
            &Budget::unbounded(),
            &[],
            &Progress::new(false),
        )
        .unwrap();
        assert_eq!(inv.key_files.len(), 1);
        assert_eq!(inv.key_files[0].region_hint.as_deref(), Some("us-east-1"));
        let findings = inv.findings.finish();
        let ignored: Vec<String> = findings
            .iter()
            .unwrap()
            .filter_map(|f| f.unwrap().path)
            .collect();
        assert!(ignored.iter().any(|p| p == "notes.txt"));
        assert!(ignored.iter().any(|p| p == "broken.json"));
        #[cfg(unix)]
        assert!(ignored.iter().any(|p| p == "loop"));
        let manifest = inv.manifest.finish();
        assert!(manifest
            .iter()
            .unwrap()
            .map(Result::unwrap)
            .any(|m| &*m.path == "notes.txt" && m.sha256.is_some()));
    }

    #[test]
    fn exports_by_name_and_macos_metadata() {
        assert!(matches!(
            need_of("b/config/._describe-trails.json"),
            Need::OsMetadata
        ));
        assert!(matches!(
            need_of("__MACOSX/b/config/describe-trails.json"),
            Need::OsMetadata
        ));
        assert!(matches!(
            need_of("b/config/describe-trails.txt"),
            Need::MaybeJson
        ));
        assert!(matches!(
            need_of("b/config/get-trail-status.t"),
            Need::MaybeJson
        ));
        assert!(matches!(
            need_of("b/config/describe-trails.JSON"),
            Need::Json
        ));
        assert!(matches!(need_of("b/notes.txt"), Need::HashOnly("ignored")));
        // Too big to be an export: hashed by streaming, its SHA-256 kept in the manifest.
        assert!(matches!(
            sized(need_of("b/terraform"), MAX_JSON_FILE + 1),
            Need::HashOnly("ignored")
        ));
        assert!(matches!(sized(need_of("b/terraform"), 10), Need::MaybeJson));
        // Named like an export but not JSON (Terraform variables): only hashed, at info.
        let item = ingest_bytes(
            "b/terraform.tfvars".into(),
            need_of("b/terraform.tfvars"),
            b"region = \"us-east-1\"\n".to_vec(),
            20,
            limits(),
            &Progress::new(false),
        );
        assert!(matches!(item, Item::Ignored(_, ref f) if f.severity == Severity::Info));
    }

    #[test]
    fn missing_input_is_an_error() {
        let e = discover(
            &[PathBuf::from("/nonexistent/trailproof")],
            limits(),
            &Budget::unbounded(),
            &[],
            &Progress::new(false),
        )
        .unwrap_err();
        assert!(matches!(e, Error::InputMissing(_)));
    }
}
