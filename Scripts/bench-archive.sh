#!/usr/bin/env bash
# The archive fast path against REST, in one run (BENCHMARKS.md, issue 14; SPEC §12):
#
#   Scripts/bench-archive.sh [--legs archive,rest-unlimited,rest-6000-per-minute]
#
# Same plan three ways, each into a fresh landing area and ledger: REST held to Binance's real budget (a fake with
# weight limit 6000/min), REST with no limit, and `archive: auto` (a fake with no limit serving /data/...). The plan:
# BTC/USDT and ETH/USDT 1m for 2024 (1,054,080 candles) and BTC/USDT 1s for January 2025 (2,678,400 candles, the
# archive's µs rows). Prints candles/s, klines requests, weight and peak RSS (/usr/bin/time) per leg. Builds the
# release binaries; nothing but 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

legs=archive,rest-unlimited,rest-6000-per-minute
while [[ $# -gt 0 ]]; do
    case "$1" in
    --legs) legs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
    esac
done

swift build -c release --product backfill-tool >/dev/null 2>&1
swift build -c release --product fake-binance >/dev/null 2>&1
bin=.build/release
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

start_fake() { # $1 = name, $2 = weight limit; prints the base URL
    # 2025-03-10: every period of the plan is published. page_cache: REST pages rendered once, in the warm-up.
    echo "{\"clock\":{\"frozen_ms\":1741564800000},\"weight\":{\"limit\":$2},\"page_cache\":true}" >"$work/$1.json"
    "$bin/fake-binance" --config "$work/$1.json" >"$work/$1.out" 2>"$work/$1.err" &
    pids+=($!)
    for _ in $(seq 100); do
        grep -q listening "$work/$1.out" 2>/dev/null && break
        sleep 0.1
    done
    sed -n 's/.*listening on //p' "$work/$1.out"
}
budget_url=$(start_fake budget 6000)
free_url=$(start_fake free 0)

write_plan() { # $1 = directory, $2 = base URL, $3 = archive mode
    mkdir -p "$1"
    cat >"$1/plan.yaml" <<EOF
version: 1
exchange: binance
market: spot
base_url: $2
archive: $3
archive_url: $2
landing: $1/incoming
ledger: $1/manifest.sqlite
targets:
  - symbols: [BTC/USDT, ETH/USDT]
    timeframes: [1m]
    start: 2024-01-01
    end: 2025-01-01
  - symbols: [BTC/USDT]
    timeframes: [1s]
    start: 2025-01-01
    end: 2025-02-01
EOF
}

leg() { # $1 = label, $2 = base URL, $3 = archive mode
    write_plan "$work/$1" "$2" "$3"
    /usr/bin/time -v "$bin/backfill-tool" apply "$work/$1/plan.yaml" --progress never --json \
        >"$work/$1.json" 2>"$work/$1.time"
    python3 - "$1" "$work/$1.json" "$work/$1.time" <<'EOF'
import json, re, sys
label, summary = sys.argv[1], json.load(open(sys.argv[2]))["summary"]
timing = open(sys.argv[3]).read()
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", timing).group(1)
seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
candles = summary["candles"]
archive = summary.get("archive_chunks")
print(f"{label}: {candles:,} candles, {summary['files_written']} files, {summary['requests']} klines requests, "
      f"weight {summary.get('weight_used', 0)}, "
      + (f"{archive} chunks from {summary.get('archive_files')} archive files, " if archive is not None else "")
      + f"{seconds:.2f} s, {candles / seconds:,.0f} candles/s, peak RSS {rss_kb / 1024:.1f} MB")
EOF
    rm -rf "$work/$1"
}

# Warm-up, untimed: the fakes render every REST page and zip once.
if [[ ,$legs, == *,rest-unlimited,* ]]; then
    write_plan "$work/warm-rest" "$free_url" off
    "$bin/backfill-tool" apply "$work/warm-rest/plan.yaml" --progress never >/dev/null
fi
if [[ ,$legs, == *,archive,* ]]; then
    write_plan "$work/warm-archive" "$free_url" auto
    "$bin/backfill-tool" apply "$work/warm-archive/plan.yaml" --progress never >/dev/null
fi
rm -rf "$work/warm-rest" "$work/warm-archive"

IFS=, read -ra chosen <<<"$legs"
for name in "${chosen[@]}"; do
    case "$name" in
    archive) leg archive "$free_url" auto ;;
    rest-unlimited) leg rest-unlimited "$free_url" off ;;
    rest-6000-per-minute) leg rest-6000-per-minute "$budget_url" off ;;
    *) echo "unknown leg $name" >&2; exit 64 ;;
    esac
done
