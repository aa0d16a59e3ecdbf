//! Benchmark bundles, made with the fixture builder (run by `bench/run.sh`, never by
//! `cargo test`): a large signed bundle whose size is set by environment variables.
//!
//! `TRAILPROOF_BENCH_DIR` (required), `TRAILPROOF_BENCH_DAYS` (default 7),
//! `TRAILPROOF_BENCH_HOURS` (added to the days, default 0),
//! `TRAILPROOF_BENCH_REGIONS` (default 3), `TRAILPROOF_BENCH_FILES_PER_HOUR` (default 12),
//! `TRAILPROOF_BENCH_EVENTS` per file (default 200).

use crate::fixture::{ts, Bundle};

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "writes a large bundle; run by bench/run.sh"]
fn generate_bench_bundle() {
    let dir = std::env::var_os("TRAILPROOF_BENCH_DIR").expect("set TRAILPROOF_BENCH_DIR");
    let days = env_u32("TRAILPROOF_BENCH_DAYS", 7);
    // Extra hours on top of the days (for bundles smaller than a day).
    let hours = days * 24 + env_u32("TRAILPROOF_BENCH_HOURS", 0);
    let all = [
        "us-east-1",
        "eu-west-1",
        "ap-southeast-2",
        "us-west-2",
        "eu-central-1",
        "sa-east-1",
    ];
    let n = (env_u32("TRAILPROOF_BENCH_REGIONS", 3) as usize).clamp(1, all.len());
    let w = Bundle::new("123456789012", "bench-trail", "us-east-1")
        .regions(&all[..n])
        .window(ts("2025-02-01T00:00:00Z"), hours)
        .files_per_hour(env_u32("TRAILPROOF_BENCH_FILES_PER_HOUR", 12))
        .events_per_file(env_u32("TRAILPROOF_BENCH_EVENTS", 200))
        .write(std::path::Path::new(&dir));
    println!("window {} {}", w.start_iso(), w.end_iso());
}
