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
# The modules' dependencies in Package.swift keep the big boundaries (the compiler refuses an import a module does
# not declare); within a module, the one file that may touch a library:
check GRDB 'Sources/BackfillLedger/'
check Yams 'Sources/BackfillSpec/PlanLoader.swift'
check ArgumentParser 'Sources/backfill-tool/'
check Crypto 'Sources/BackfillSpec/SHA256Hex.swift'
check AsyncHTTPClient 'Sources/BackfillExchange/AsyncHTTPClientTransport.swift'
check NIOHTTP1 'Sources/BackfillExchange/AsyncHTTPClientTransport.swift|Sources/FakeBinance/'
check NIOPosix 'Sources/FakeBinance/|Sources/BackfillEngine/Apply/BlockingIOPool.swift|Sources/BackfillLedger/Database/PostgresLedgerDatabase.swift'
check PostgresNIO 'Sources/BackfillLedger/Database/PostgresLedgerDatabase.swift'
check NIOSSL 'Sources/BackfillLedger/Database/PostgresLedgerDatabase.swift'
check ZIPFoundation 'Sources/FakeBinance/FakeArchive.swift|Sources/BackfillArchive/ZipReader.swift'
# The model stays pure: Foundation and the standard library's Synchronization at most.
offenders=$(grep -rhE "^import " Sources/BackfillModel | sort -u | grep -vE "^import (Foundation|Synchronization)$" || true)
if [ -n "$offenders" ]; then
    echo "import boundary: BackfillModel may import Foundation and Synchronization only, found: $offenders" >&2
    fail=1
fi
exit $fail
