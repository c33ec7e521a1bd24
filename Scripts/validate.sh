#!/usr/bin/env bash
# Checks that need no build: formatting (lint --strict) and the import boundaries of STYLE.md rule 4.
set -euo pipefail
cd "$(dirname "$0")/.."

swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks

fail=0
# allowed_dir pattern, module
check() {
    local module=$1 allowed=$2
    local offenders
    offenders=$(grep -rlE "^import ${module}\$" Sources Benchmarks | grep -vE "${allowed}" || true)
    if [ -n "$offenders" ]; then
        echo "import boundary: ${module} may only be imported under ${allowed}:" >&2
        echo "$offenders" >&2
        fail=1
    fi
}
check GRDB 'Sources/BackfillCore/Ledger/'
check Yams 'Sources/BackfillCore/Spec/'
check ArgumentParser 'Sources/backfill-tool/'
check Crypto 'Sources/BackfillCore/Support/SHA256Hex.swift'
check AsyncHTTPClient 'Sources/BackfillCore/Exchange/AsyncHTTPClientTransport.swift'
check NIOHTTP1 'Sources/BackfillCore/Exchange/AsyncHTTPClientTransport.swift|Sources/FakeBinance/'
check NIOPosix 'Sources/FakeBinance/|Sources/BackfillCore/Support/BlockingIOPool.swift'
# Model/ and Plan/ stay pure: Foundation at most.
offenders=$(grep -rhE "^import " Sources/BackfillCore/Model Sources/BackfillCore/Plan | sort -u | grep -vE "^import Foundation$" || true)
if [ -n "$offenders" ]; then
    echo "import boundary: Model/ and Plan/ may import Foundation only, found: $offenders" >&2
    fail=1
fi
exit $fail
