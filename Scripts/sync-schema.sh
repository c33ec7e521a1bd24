#!/usr/bin/env bash
# Regenerates Sources/BackfillLedger/LedgerSchema.swift from schema/ledger.sql (the reference DDL).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
body = open('schema/ledger.sql').read()
swift = ('// Generated from schema/ledger.sql by Scripts/sync-schema.sh; LedgerSchemaTests keeps the two identical.\n\n'
         '/// The ledger\'s DDL, one entry per numbered migration.\n'
         'package enum LedgerSchema {\n'
         '    /// The newest schema version this build knows.\n'
         '    package static let currentVersion = 1\n\n'
         '    /// Migration `v1`: the text of `schema/ledger.sql`.\n'
         '    package static let v1 = #"""\n' + body + '\n"""#\n}\n')
open('Sources/BackfillLedger/LedgerSchema.swift', 'w').write(swift)
PY
