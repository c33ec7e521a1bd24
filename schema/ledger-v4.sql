-- backfill-tool ledger (manifest.sqlite), migration v4: the archive files files were made from (SPEC §12).
--
-- Applied after schema/ledger-v3.sql; Sources/BackfillLedger/LedgerSchema.swift holds the same text.
--   * archive_files: every data.binance.vision zip `apply` used, one row per URL and verified SHA-256 (a re-upload
--     read later is a second row), with the open times it covers and when it was first verified;
--   * file_archives: which archive files each file (source 'archive') was made from. `audit --verify-remote`
--     re-reads their `.CHECKSUM`: a different digest is `remote_changed`.

CREATE TABLE archive_files (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL CHECK (url <> ''),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    t_start INTEGER NOT NULL CHECK (t_start >= 0),
    t_end INTEGER NOT NULL CHECK (t_end > t_start),
    verified_at INTEGER NOT NULL,
    UNIQUE (url, sha256)
);

CREATE TABLE file_archives (
    file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    archive_file_id INTEGER NOT NULL REFERENCES archive_files (id),
    PRIMARY KEY (file_id, archive_file_id)
) WITHOUT ROWID;

CREATE INDEX file_archives_archive ON file_archives (archive_file_id);

UPDATE meta SET value = '4' WHERE key = 'schema_version';
