#!/usr/bin/env bash
# Formats every Swift file in place, then lints strictly (argument-parser's pattern).
set -euo pipefail
cd "$(dirname "$0")/.."
swift format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks
swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks
