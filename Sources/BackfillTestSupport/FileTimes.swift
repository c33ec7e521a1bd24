import BackfillEngine
import Foundation

/// A file's modification time (ns) and inode as the tool's stat sees them, and `touch` to set the time: tests need
/// both without naming the C `stat` struct (with NIO and zlib in the build, which module defines it is ambiguous).
package enum FileTimes {
    /// The modification time in ns and the inode of the regular file at `path`.
    package static func stat(_ path: String) -> (modifiedNs: Int64, inode: UInt64)? {
        let url = URL(fileURLWithPath: path)
        let area = LandingArea(path: url.deletingLastPathComponent().path)
        guard let entry = try? area.entry(url.lastPathComponent) else { return nil }
        return (entry.modifiedNs, entry.inode)
    }

    /// Sets the modification (and access) time of `path` to `ns` exactly, with `touch -d @SECONDS.NANOSECONDS`.
    package static func setModified(_ path: String, ns: Int64) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/touch")
        let fraction = String(ns % 1_000_000_000)
        process.arguments = [
            "-d", "@\(ns / 1_000_000_000).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)", path,
        ]
        try process.run()
        process.waitUntilExit()
    }
}
