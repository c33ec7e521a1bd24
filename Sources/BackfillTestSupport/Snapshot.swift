import Foundation

/// Golden files without a library (argument-parser's ~40-line helper): compares `actual` with
/// `<directory>/<name>`; `RECORD_SNAPSHOTS=1` writes it instead.
package enum Snapshot {
    /// - Returns: `nil` when equal (or recorded), otherwise a message showing the first differing line.
    package static func compare(_ actual: String, name: String, directory: URL) -> String? {
        let file = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? Data(actual.utf8).write(to: file)
            return nil
        }
        guard let data = try? Data(contentsOf: file), let expected = String(data: data, encoding: .utf8) else {
            return "missing snapshot \(name); run with RECORD_SNAPSHOTS=1 to record it"
        }
        guard expected != actual else { return nil }
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? String(e[i]) : "<end>"
            let al = i < a.count ? String(a[i]) : "<end>"
            if el != al { return "snapshot \(name) differs at line \(i + 1):\n  expected: \(el)\n  actual:   \(al)" }
        }
        return "snapshot \(name) differs"
    }
}
