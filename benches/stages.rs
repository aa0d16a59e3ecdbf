//! `cargo bench --bench stages [-- DIR]`: per-stage throughput of the single pass over log
//! files, on a bundle folder (default: `testdata/sample`), side by side with bare loops over
//! the same files that use the crates the performance ceiling was measured with:
//! flate2 (zlib-rs) + sha2 + serde_json, and libdeflater + sha2 + sonic-rs. Every row runs
//! on one thread and then with rayon over two (`par_iter` over files, as `trailproof` does).
//! Reports MB/s of inflated JSON (1 MB = 10^6 bytes), best of three runs.

use rayon::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trailproof::logfile::{analyse_compressed, analyse_two, LogResult};

fn log_files(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains("/CloudTrail/") && s.ends_with(".json.gz")
        })
        .collect();
    v.sort();
    v
}

/// The reference loops' typed parse: the fields a per-hour count needs, borrowed.
#[derive(Deserialize)]
struct RefDoc<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<RefRecord<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // read by the parse only: what a count would need
struct RefRecord<'a> {
    #[serde(rename = "eventTime", borrow, default)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventSource", borrow, default)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<Cow<'a, str>>,
    #[serde(rename = "managementEvent", default)]
    management_event: Option<bool>,
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static BUF2: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static LIBDEFLATE: RefCell<libdeflater::Decompressor> =
        RefCell::new(libdeflater::Decompressor::new());
}

fn flate2_inflate(gz: &[u8], out: &mut Vec<u8>) {
    out.clear();
    flate2::bufread::GzDecoder::new(gz)
        .read_to_end(out)
        .unwrap();
}

fn libdeflater_inflate(gz: &[u8], out: &mut Vec<u8>) {
    let isize = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap()) as usize;
    out.resize(isize, 0);
    let n = LIBDEFLATE
        .with(|d| d.borrow_mut().gzip_decompress(gz, out))
        .unwrap();
    out.truncate(n);
}

fn serde_json_count(json: &[u8]) -> usize {
    let d: RefDoc<'_> = serde_json::from_slice(json).unwrap();
    d.records.len()
}

fn sonic_count(json: &[u8]) -> usize {
    let d: RefDoc<'_> = sonic_rs::from_slice(json).unwrap();
    d.records.len()
}

struct Bench {
    pool: rayon::ThreadPool,
    total: u64,
    /// Only rows whose name contains this (second argument), e.g. for `perf record`.
    only: Option<String>,
}

impl Bench {
    /// Time `f` over every item, on one thread and on two; prints both rates.
    fn row<T: Sync>(&self, name: &str, items: &[T], f: impl Fn(&T, &mut Vec<u8>) + Sync) {
        if self
            .only
            .as_ref()
            .is_some_and(|o| !name.contains(o.as_str()))
        {
            return;
        }
        let one = best_of_three(|| {
            BUF.with(|b| {
                let b = &mut b.borrow_mut();
                items.iter().for_each(|i| f(i, b));
            })
        });
        let two = best_of_three(|| {
            self.pool.install(|| {
                items
                    .par_iter()
                    .for_each(|i| BUF.with(|b| f(i, &mut b.borrow_mut())))
            })
        });
        let rate = |s: f64| self.total as f64 / 1e6 / s;
        println!(
            "{name:<46} {:>8.1} {:>8.1}  ({one:.3} s, {two:.3} s)",
            rate(one),
            rate(two)
        );
    }
}

/// Files in pairs (an odd one out with an empty partner), as the workers take them.
fn in_pairs(files: &[Vec<u8>]) -> Vec<(&[u8], &[u8])> {
    files
        .chunks(2)
        .map(|p| match p {
            [a, b] => (&a[..], &b[..]),
            [a] => (&a[..], &[][..]),
            _ => (&[][..], &[][..]),
        })
        .collect()
}

fn best_of_three(mut f: impl FnMut()) -> f64 {
    // Best of three: the least disturbed run.
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let root = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample")));
    let files: Vec<Vec<u8>> = log_files(&root)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    if files.is_empty() {
        println!("no log files under {}", root.display());
        return;
    }
    let mut inflated: Vec<Vec<u8>> = Vec::new();
    for f in &files {
        let mut out = Vec::new();
        trailproof::gzip::gunzip_single(f, u64::MAX, &mut out).unwrap();
        inflated.push(out);
    }
    let total: u64 = inflated.iter().map(|v| v.len() as u64).sum();
    println!(
        "{} log files, {:.1} MB inflated, from {}",
        files.len(),
        total as f64 / 1e6,
        root.display()
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let b = Bench {
        pool,
        total,
        only: args.get(1).cloned(),
    };
    println!(
        "{:<46} {:>8} {:>8}",
        "MB/s of inflated JSON", "1 thread", "2 thr."
    );

    println!("-- trailproof stages");
    b.row("inflate (gzip::gunzip_single)", &files, |f, buf| {
        trailproof::gzip::gunzip_single(f, u64::MAX, buf).unwrap();
    });
    b.row("sha256 of inflated bytes", &inflated, |i, _| {
        std::hint::black_box(trailproof::hash::Sha256Hash::of(i));
    });
    let pairs = in_pairs(&inflated);
    b.row(
        "sha256, two files at once (sha256_two)",
        &pairs,
        |(x, y), _| {
            std::hint::black_box(trailproof::hash::sha256_two(x, y));
        },
    );
    b.row(
        "record parse (logfile, from inflated)",
        &inflated,
        |i, _| {
            let mut r = LogResult::default();
            trailproof::logfile::parse_records_for_bench(i, &mut r);
            assert!(r.error.is_none(), "{:?}", r.error);
            std::hint::black_box(r.events);
        },
    );
    b.row(
        "trailproof single pass (analyse_compressed)",
        &files,
        |f, buf| {
            let mut r = LogResult::default();
            analyse_compressed(f, u64::MAX, buf, &mut r);
            std::hint::black_box(r.events);
        },
    );
    // As the workers run it: files two at a time, their inflated bytes hashed together.
    let file_pairs = in_pairs(&files);
    b.row(
        "trailproof single pass, two at once (analyse_two)",
        &file_pairs,
        |(x, y), buf| {
            let (mut ra, mut rb) = (LogResult::default(), LogResult::default());
            BUF2.with(|b2| {
                let b2 = &mut b2.borrow_mut();
                if y.is_empty() {
                    analyse_compressed(x, u64::MAX, buf, &mut ra);
                } else {
                    analyse_two([x, y], u64::MAX, [buf, b2], [&mut ra, &mut rb]);
                }
            });
            std::hint::black_box((ra.events, rb.events));
        },
    );

    println!("-- reference crates, one stage");
    b.row("inflate: flate2 (zlib-rs)", &files, |f, buf| {
        flate2_inflate(f, buf)
    });
    b.row(
        "inflate: libdeflater (ISIZE-sized buffer)",
        &files,
        |f, buf| libdeflater_inflate(f, buf),
    );
    b.row("parse: serde_json typed, borrowed", &inflated, |i, _| {
        std::hint::black_box(serde_json_count(i));
    });
    b.row("parse: sonic-rs typed, borrowed", &inflated, |i, _| {
        std::hint::black_box(sonic_count(i));
    });

    println!("-- reference bare loops (inflate + sha256 + typed parse)");
    b.row("flate2(zlib-rs) + sha2 + serde_json", &files, |f, buf| {
        flate2_inflate(f, buf);
        std::hint::black_box(Sha256::digest(&buf[..]));
        std::hint::black_box(serde_json_count(buf));
    });
    b.row("libdeflater + sha2 + sonic-rs", &files, |f, buf| {
        libdeflater_inflate(f, buf);
        std::hint::black_box(Sha256::digest(&buf[..]));
        std::hint::black_box(sonic_count(buf));
    });
}
