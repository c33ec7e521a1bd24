import Foundation
import GRDB

@testable import BackfillSpec

/// "Nothing changed" for bad-input tests: a logical dump of a ledger (every table's rows, sorted, read from a copy)
/// plus the SHA-256 of every file below a directory.
enum StateDump {
    /// Every table of the SQLite database at `path` (with its WAL), row by row, sorted; `"<none>"` when no file is
    /// there and `"<unreadable: …>"` for a file SQLite cannot read (compare such a file by its bytes).
    static func ledger(_ path: String) -> String {
        guard FileManager.default.fileExists(atPath: path) else { return "<none>" }
        // Read from a copy of the file and its WAL: the WAL's committed pages count, and the original gets no
        // -shm, no lock and no checkpoint from the dump.
        let manager = FileManager.default
        let copy = manager.temporaryDirectory.appendingPathComponent("state-dump-\(UUID().uuidString)")
        defer { try? manager.removeItem(at: copy) }
        do {
            try manager.createDirectory(at: copy, withIntermediateDirectories: true)
            let target = copy.appendingPathComponent("ledger.sqlite").path
            try manager.copyItem(atPath: path, toPath: target)
            if manager.fileExists(atPath: path + "-wal") {
                try manager.copyItem(atPath: path + "-wal", toPath: target + "-wal")
            }
            let queue = try DatabaseQueue(path: target)
            defer { try? queue.close() }
            return try queue.read { db in
                var lines: [String] = []
                let tables = try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                for table in tables {
                    lines.append("table \(table)")
                    let rows = try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"")
                    lines += rows.map { $0.description }.sorted()
                }
                return lines.joined(separator: "\n")
            }
        } catch {
            return "<unreadable: \(error)>"
        }
    }

    /// Relative path → SHA-256 of every regular file below `directory` (symlinks named by their target path, not
    /// followed), and `"dir"` for directories.
    static func files(_ directory: String) -> [String: String] {
        var result: [String: String] = [:]
        let manager = FileManager.default
        guard let names = manager.subpaths(atPath: directory) else { return result }
        for name in names {
            let path = directory + "/" + name
            if let target = try? manager.destinationOfSymbolicLink(atPath: path) {
                result[name] = "symlink → \(target)"
                continue
            }
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                result[name] = "dir"
            } else if let data = manager.contents(atPath: path) {
                result[name] = SHA256Hex.digest(data)
            } else {
                result[name] = "<unreadable>"
            }
        }
        return result
    }
}
