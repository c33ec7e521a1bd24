#!/usr/bin/env python3
"""A training scheduler as another program would write it: standard-library sqlite3 only, running the SQL that
Documentation/Ledger.md documents (read from that file by each block's `-- name:` line, so the document is what is
tested).

    scheduler.py LEDGER.md LEDGER.sqlite OWNER --stop-file PATH --out LOG.json [--lease-ms N] [--abandon-every K]

Loops: in one BEGIN IMMEDIATE transaction, expire-leases then claim (up to 4 files); completes each claimed file
after a short "training" pause, except every K-th claim, which it abandons (a crashed trainer: no complete, no
release) so that its lease expires and another claim takes it back. Stops once the stop file exists, nothing was
claimed, and no file is left processing. Writes a JSON log: every claim with its time span and outcome, and every
error (a `database is locked` would be one).
"""
import json
import re
import sqlite3
import sys
import time


def statements(markdown_path):
    text = open(markdown_path, encoding="utf-8").read()
    blocks = {}
    for block in re.findall(r"```sql\n(.*?)```", text, flags=re.S):
        first, _, body = block.partition("\n")
        if first.startswith("-- name: "):
            blocks[first[len("-- name: "):].strip()] = body.strip()
    return blocks


def now_ms():
    return int(time.time() * 1000)


def main(argv):
    doc, ledger, owner = argv[1], argv[2], argv[3]
    opts = dict(zip(argv[4::2], argv[5::2]))
    stop_file = opts["--stop-file"]
    out = opts["--out"]
    lease_ms = int(opts.get("--lease-ms", "400"))
    abandon_every = int(opts.get("--abandon-every", "7"))
    sql = statements(doc)
    db = sqlite3.connect(ledger, timeout=30, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    claims, errors = [], []
    claim_count = 0
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            db.execute("BEGIN IMMEDIATE")
            t = now_ms()
            db.execute(sql["expire-leases"], {"now_ms": t, "owner": owner})
            rows = db.execute(sql["claim"], {"owner": owner, "now_ms": t, "lease_ms": lease_ms, "limit": 4}).fetchall()
            db.execute("COMMIT")
        except sqlite3.Error as e:
            errors.append(f"claim: {e}")
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            time.sleep(0.01)
            continue
        if not rows:
            if __import__("os").path.exists(stop_file):
                left = db.execute("SELECT COUNT(*) FROM files WHERE status IN ('downloaded', 'processing')").fetchone()[0]
                if left == 0:
                    break
            time.sleep(0.02)
            continue
        for row in rows:
            claim_count += 1
            entry = {"id": row[0], "owner": owner, "claimed_at": t, "lease_until": t + lease_ms}
            if claim_count % abandon_every == 0:
                entry["outcome"] = "abandoned"
                claims.append(entry)
                continue
            time.sleep(0.005)
            try:
                db.execute("BEGIN IMMEDIATE")
                done = now_ms()
                changed = db.execute(sql["complete"], {"id": row[0], "owner": owner, "now_ms": done}).rowcount
                db.execute("COMMIT")
                entry["ended_at"] = done
                entry["outcome"] = "completed" if changed == 1 else "lease lost"
            except sqlite3.Error as e:
                errors.append(f"complete {row[0]}: {e}")
                entry["outcome"] = "error"
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            claims.append(entry)
    else:
        errors.append("gave up after 600 s")
    watermarks = db.execute(sql["read-watermarks"]).fetchall()
    db.close()
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"claims": claims, "errors": errors, "watermarks": dict(watermarks)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
