#!/usr/bin/env bash
# Regenerates Sources/BackfillLedger/LedgerSchema.swift from schema/ledger.sql (v1, the reference DDL) and
# schema/ledger-v2.sql (v2).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
body = open('schema/ledger.sql').read()
v2 = open('schema/ledger-v2.sql').read()
swift = ('// Generated from schema/ledger*.sql by Scripts/sync-schema.sh; LedgerSchemaTests keeps them identical.\n\n'
         '/// The ledger\'s DDL, one entry per numbered migration.\n'
         'package enum LedgerSchema {\n'
         '    /// The newest schema version this build knows.\n'
         '    package static let currentVersion = 2\n\n'
         '    /// Migration `v1`: the text of `schema/ledger.sql`.\n'
         '    package static let v1 = #"""\n' + body + '\n"""#\n\n'
         '    /// Migration `v2`: the text of `schema/ledger-v2.sql`.\n'
         '    package static let v2 = #"""\n' + v2 + '\n"""#\n}\n')
open('Sources/BackfillLedger/LedgerSchema.swift', 'w').write(swift)
PY
