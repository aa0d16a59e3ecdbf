#!/usr/bin/env bash
# End-to-end benchmark: generate large signed bundles with the project's fixture builder,
# then measure `trailproof verify` on them (wall time, MB/s of inflated JSON, files/s, peak
# RSS) with 1 and 2 threads, beside the bare per-file loop of `cargo bench --bench stages`.
# Each row is the best of RUNS runs (default 3).
#
#   bench/run.sh [WORKDIR]        (default /tmp/trailproof-bench; needs ~3 GB free)
#
# Bundles (3 regions):
#   full   7 days, 12 files an hour, 200 events a file (~1.6 GB of log JSON)  throughput
#   lean   7 days, 12 files an hour,  20 events a file (10x fewer events)   memory vs events
#   small  17 hours, 12 files an hour, 200 events      (10x smaller bundle)  memory vs size
#   many   7 days, 120 files an hour,  20 events a file (10x the files of full, same JSON)
#          memory vs number of files: per-file records spill past --memory-mib
#   week   7 days, 1 file an hour, 20 events a file                       memory vs hours:
#   weeks10 70 days, 1 file an hour, 20 events a file (10x the region-hours, digests)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/trailproof-bench}
mkdir -p "$WORK"
cargo build --release --quiet
BIN=target/release/trailproof

gen() { # name days hours events files-an-hour
    local dir="$WORK/$1"
    if [ ! -f "$dir/.done" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        TRAILPROOF_BENCH_DIR="$dir" TRAILPROOF_BENCH_DAYS="$2" TRAILPROOF_BENCH_EVENTS="$4" \
            TRAILPROOF_BENCH_HOURS="$3" TRAILPROOF_BENCH_FILES_PER_HOUR="$5" \
            cargo test --release --quiet --test it -- --ignored generate_bench_bundle >/dev/null
        touch "$dir/.done"
    fi
}
gen full 7 0 200 12
gen lean 7 0 20 12
gen small 0 17 200 12
gen many 7 0 20 120
gen week 7 0 20 1
gen weeks10 70 0 20 1

measure() { # name threads: best wall time of RUNS runs (a shared machine only slows runs
    # down), highest peak RSS of them
    local dir="$WORK/$1" out="$WORK/$1.t$2.json" tm="$WORK/$1.t$2.time"
    : > "$tm"
    for _ in $(seq "${RUNS:-3}"); do
        /usr/bin/time -f '%e %M' -a -o "$tm" "$BIN" verify "$dir" --format json --deterministic \
            --no-progress --threads "$2" > "$out" || true
    done
    python3 - "$out" "$tm" "$1" "$2" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
runs = [l.split() for l in open(sys.argv[2]) if l.strip()]
wall = min(float(w) for w, _ in runs)
rss_kb = max(int(m) for _, m in runs)
s = r["summary"]
print(f"| {sys.argv[3]:<5} | {sys.argv[4]} | {s['inflated_bytes']/1e6:8.0f} | {s['log_files']:6d} | {s['events']:9d} | "
      f"{wall:6.2f} | {s['inflated_bytes']/1e6/wall:7.0f} | {s['log_files']/wall:7.0f} | {rss_kb/1024:6.1f} | {r['verdict']} |")
PY
}

echo "| bundle | threads | MB of JSON | files | events | wall s | MB/s | files/s | peak RSS MiB | verdict |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for b in full lean small many week weeks10; do
    for t in 1 2; do measure "$b" "$t"; done
done
# Byte-identical reports whatever the thread count.
cmp -s "$WORK/full.t1.json" "$WORK/full.t2.json" && echo "reports with --threads 1 and 2: identical" \
    || echo "reports with --threads 1 and 2: DIFFER"
# Byte-identical whether per-file records spill to temporary files or stay in memory.
/usr/bin/time -f '%e %M' -o "$WORK/many.mem.time" "$BIN" verify "$WORK/many" --format json \
    --deterministic --no-progress --memory-mib 100000 > "$WORK/many.mem.json" || true
cmp -s "$WORK/many.t2.json" "$WORK/many.mem.json" \
    && echo "many, records spilled (default) and all in memory (--memory-mib 100000): identical; in memory: $(awk '{printf "%.2f s, %.1f MiB", $1, $2/1024}' "$WORK/many.mem.time")" \
    || echo "many, records spilled and in memory: DIFFER"
echo
echo "Bare per-file loop on the same files (cargo bench --bench stages):"
cargo bench --quiet --bench stages -- "$WORK/full" 2>/dev/null | grep -v '^$' | tee "$WORK/stages.txt"
# Side by side: the host's speed drifts by more than 10 % within minutes, so the runs above
# and the loops below, minutes apart, can mislead. Alternate one end-to-end run (2 threads)
# with the bare loop's row, ROUNDS times, and compare the best of each.
echo
echo "Alternating, ${ROUNDS:-5} rounds: end to end (2 threads) and the bare loop (2 threads):"
e2e_best=999999; loop_best=0
for _ in $(seq "${ROUNDS:-5}"); do
    /usr/bin/time -f '%e' -o "$WORK/alt.time" "$BIN" verify "$WORK/full" --format json \
        --deterministic --no-progress --threads 2 > /dev/null || true
    e2e_best=$(python3 -c "print(min($e2e_best, float(open('$WORK/alt.time').read().split()[-1])))")
    loop=$(cargo bench --quiet --bench stages -- "$WORK/full" "libdeflater + sha2" 2>/dev/null \
        | awk '/^libdeflater \+ sha2/ {print $(NF-4)}')
    loop_best=$(python3 -c "print(max($loop_best, float('${loop:-0}')))")
done
python3 - "$WORK/full.t2.json" "$e2e_best" "$loop_best" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall, loop = float(sys.argv[2]), float(sys.argv[3])
e2e = r["summary"]["inflated_bytes"] / 1e6 / wall
print(f"end to end {e2e:.0f} MB/s (best {wall:.2f} s) = {100 * e2e / loop:.0f} % of the bare loop's best ({loop:.0f} MB/s), alternating")
PY
# End to end against the loops, both on 2 threads: the share of the bare loop's speed that
# the whole run keeps.
python3 - "$WORK/full.t2.json" "$WORK/full.t2.time" "$WORK/stages.txt" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
wall = min(float(l.split()[0]) for l in open(sys.argv[2]) if l.strip())
e2e = r["summary"]["inflated_bytes"] / 1e6 / wall
for line in open(sys.argv[3]):
    for label in ("trailproof single pass, two at once", "libdeflater + sha2 + sonic-rs"):
        if line.startswith(label):
            # The row's numbers: MB/s on 1 thread, then on 2.
            two = float(re.findall(r"\b\d+\.\d\b", line[len(label):])[1])
            print(f"end to end {e2e:.0f} MB/s = {100 * e2e / two:.0f} % of '{label}' ({two:.0f} MB/s, 2 threads)")
PY
