#!/usr/bin/env bash
# Runs the libFuzzer targets (Fuzz/): the klines parser, the CSV validator and candle checks, and the plan loader.
#   bash Scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 120)
# Builds them into .build-fuzz (sanitizers: fuzzer, address), seeds each corpus from Fuzz/Seeds and the repository's
# plan files, runs each target for the given time on all cores but one, and prints executions and findings. A crash,
# a leak or a trap leaves its input in .build-fuzz/findings/<target>/ and makes the script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
jobs=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
work=.build-fuzz/work
mkdir -p "$work"
for product in FuzzKlines FuzzCSV FuzzPlan; do
  BACKFILL_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product "$product" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; exit 1; }
done
mkdir -p "$work/corpus/FuzzKlines" "$work/corpus/FuzzCSV" "$work/corpus/FuzzPlan"
cp Fuzz/Seeds/klines/* "$work/corpus/FuzzKlines/"
cp Fuzz/Seeds/csv/* "$work/corpus/FuzzCSV/"
cp plans/*.yaml Tests/BackfillToolTests/Fixtures/plans/*.yaml Tests/BackfillToolTests/Fixtures/malformed/*.yaml \
  "$work/corpus/FuzzPlan/" 2>/dev/null || true
status=0
printf '%-11s %12s %10s %9s %s\n' target executions exec/s findings corpus
for product in FuzzKlines FuzzCSV FuzzPlan; do
  findings=".build-fuzz/findings/$product"
  mkdir -p "$findings"
  log="$work/$product.log"
  set +e
  ".build-fuzz/release/$product" "$work/corpus/$product" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len=65536 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" -fork="$jobs" \
    -ignore_crashes=0 >"$log" 2>&1
  code=$?
  set -e
  # -fork: the last status line of the parent counts every child's executions.
  runs=$( (grep -Eo '^#[0-9]+' "$log" || true) | tail -1 | tr -d '#')
  found=$(find "$findings" -type f | wc -l)
  size=$(find "$work/corpus/$product" -type f | wc -l)
  printf '%-11s %12s %10s %9s %s\n' "$product" "${runs:-0}" "$(( ${runs:-0} / seconds ))" "$found" "$size"
  if [ "$found" -gt 0 ] || { [ "$code" -ne 0 ] && [ "$code" -ne 70 ] && ! grep -q 'Done\|INFO: fuzzed for' "$log"; }; then
    status=1
    echo "  $product: see $log and $findings" >&2
  fi
done
exit "$status"
