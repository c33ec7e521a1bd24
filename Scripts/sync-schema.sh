#!/usr/bin/env bash
# Regenerates Sources/BackfillLedger/LedgerSchema.swift from schema/ledger.sql (v1, the reference DDL) and
# schema/ledger-vN.sql (vN, N >= 2), and Sources/BackfillLedger/PostgresLedgerSchema.swift from
# schema/postgres/ledger-vN.sql (the PostgreSQL ledger's migrations, numbered with SQLite's).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import glob, re
migrations = [(1, 'schema/ledger.sql')]
for path in glob.glob('schema/ledger-v*.sql'):
    migrations.append((int(re.search(r'-v(\d+)\.sql$', path).group(1)), path))
migrations.sort()
swift = ('// Generated from schema/ledger*.sql by Scripts/sync-schema.sh; LedgerSchemaTests keeps them identical.\n\n'
         '/// The ledger\'s DDL, one entry per numbered migration.\n'
         'package enum LedgerSchema {\n'
         '    /// The newest schema version this build knows.\n'
         f'    package static let currentVersion = {migrations[-1][0]}\n')
for number, path in migrations:
    swift += (f'\n    /// Migration `v{number}`: the text of `{path}`.\n'
              f'    package static let v{number} = #"""\n' + open(path).read() + '\n"""#\n')
swift += '}\n'
open('Sources/BackfillLedger/LedgerSchema.swift', 'w').write(swift)
pg = sorted((int(re.search(r'-v(\d+)\.sql$', path).group(1)), path) for path in glob.glob('schema/postgres/ledger-v*.sql'))
swift = ('// Generated from schema/postgres/ledger-v*.sql by Scripts/sync-schema.sh; LedgerSchemaTests keeps them '
         'identical.\n\n'
         '/// The PostgreSQL ledger\'s DDL, one entry per numbered migration (numbered with the SQLite ledger\'s).\n'
         'package enum PostgresLedgerSchema {\n'
         '    /// The migrations in order: identifier and text.\n'
         '    package static let migrations: [(identifier: String, sql: String)] = [\n')
for number, path in pg:
    swift += f'        ("v{number}", v{number}),\n'
swift += '    ]\n'
for number, path in pg:
    swift += (f'\n    /// Migration `v{number}`: the text of `{path}`.\n'
              f'    package static let v{number} = #"""\n' + open(path).read() + '\n"""#\n')
swift += '}\n'
open('Sources/BackfillLedger/PostgresLedgerSchema.swift', 'w').write(swift)
PY
