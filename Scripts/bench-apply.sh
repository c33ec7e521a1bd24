#!/usr/bin/env bash
# `apply` against the fake Binance beside the ccxt peer, in one run (BENCHMARKS.md, issue 5).
#
#   Scripts/bench-apply.sh [--symbols BTCUSDT,ETHUSDT] [--start-ms MS] [--end-ms MS] [--parallelism N] [--no-peer]
#
# Builds the release binaries, starts `fake-binance` on loopback (frozen clock, no weight limit), warms it, then
# times `backfill-tool apply` (fresh landing area and ledger, peak RSS from /usr/bin/time) and the ccxt peer
# (`../shared/bench/peer_ccxt_backfill.py`, needs .venv-bench: see .ci/run) over the same symbols and range, and prints
# one line per side. Nothing but 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

symbols=BTCUSDT,ETHUSDT
start_ms=1640995200000 # 2022-01-01
end_ms=1672531200000   # 2023-01-01
parallelism=""
peer=1
while [[ $# -gt 0 ]]; do
    case "$1" in
    --symbols) symbols=$2; shift 2 ;;
    --start-ms) start_ms=$2; shift 2 ;;
    --end-ms) end_ms=$2; shift 2 ;;
    --parallelism) parallelism=$2; shift 2 ;;
    --no-peer) peer=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
    esac
done

swift build -c release --product backfill-tool >/dev/null 2>&1
swift build -c release --product fake-binance >/dev/null 2>&1
bin=.build/release
work=$(mktemp -d)
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# page_cache: the warm-up renders every page once; the timed runs of both sides are then served from memory, so the
# fake's CPU (on the same 2 cores) goes to HTTP, not to generating candles. See BENCHMARKS.md.
echo '{"clock":{"frozen_ms":1709251200000},"weight":{"limit":0},"page_cache":true}' >"$work/fake.json"
"$bin/fake-binance" --config "$work/fake.json" >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 100); do
    grep -q listening "$work/fake.out" 2>/dev/null && break
    sleep 0.1
done
base_url=$(sed -n 's/.*listening on //p' "$work/fake.out")
[[ -n "$base_url" ]] || { echo "fake-binance did not start" >&2; exit 1; }

unified=""
IFS=, read -ra ids <<<"$symbols"
for id in "${ids[@]}"; do unified+="${unified:+, }${id%USDT}/USDT"; done
write_plan() { # $1 = directory
    cat >"$1/plan.yaml" <<EOF
version: 1
exchange: binance
market: spot
base_url: $base_url
landing: $1/incoming
ledger: $1/manifest.sqlite
columns: basic
defaults: {start: $start_ms, end: $end_ms}
targets:
  - symbols: [$unified]
    timeframes: [1m]
EOF
}

run_peer() { # $1 = output directory
    .venv-bench/bin/python ../shared/bench/peer_ccxt_backfill.py --base-url "$base_url" --symbols "$symbols" \
        --timeframe 1m --start-ms "$start_ms" --end-ms "$end_ms" --out-dir "$1" --no-ccxt-throttle --no-resume
}

# Warm the fake (and the page cache) once on each side, untimed.
mkdir -p "$work/warm"
write_plan "$work/warm"
"$bin/backfill-tool" apply "$work/warm/plan.yaml" --progress never >/dev/null
rm -rf "$work/warm"
if [[ $peer == 1 ]]; then run_peer "$work/peer-warm" >/dev/null; rm -rf "$work/peer-warm"; fi

mkdir -p "$work/tool"
write_plan "$work/tool"
/usr/bin/time -v "$bin/backfill-tool" apply "$work/tool/plan.yaml" --progress never --json \
    ${parallelism:+--parallelism "$parallelism"} >"$work/tool.json" 2>"$work/tool.time"
python3 - "$work/tool.json" "$work/tool.time" <<'EOF'
import json, re, sys
summary = json.load(open(sys.argv[1]))["summary"]
timing = open(sys.argv[2]).read()
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", timing).group(1)
parts = [float(p) for p in wall.split(":")]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
candles = summary["candles"]
print(f"backfill-tool: {candles} candles, {summary['files_written']} files, {summary['requests']} requests, "
      f"parallelism {summary['parallelism']}, "
      f"{seconds:.2f} s wall (process), {candles / seconds:,.0f} candles/s, peak RSS {rss_kb / 1024:.1f} MB")
EOF
no_op_start=$(date +%s%N)
"$bin/backfill-tool" apply "$work/tool/plan.yaml" --progress never >/dev/null
echo "backfill-tool no-op apply: $(((($(date +%s%N) - no_op_start)) / 1000000)) ms wall (process)"
rm -rf "$work/tool"

if [[ $peer == 1 ]]; then
    echo "ccxt peer: $(run_peer "$work/peer")"
fi
