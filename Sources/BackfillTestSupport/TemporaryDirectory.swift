import Foundation

/// A unique directory per test, removed when the value is released (GRDBTestCase / swift-format style).
package final class TemporaryDirectory: Sendable {
    package let url: URL

    package init(_ label: String = "test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("backfill-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    package var path: String { url.path }

    /// The path of `name` inside the directory.
    package func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name` (creating parent directories) and returns its path.
    @discardableResult
    package func write(_ text: String, to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// Every file below the directory with its size and a digest of its bytes, for "nothing changed" checks.
    package func inventory() throws -> [String: String] {
        var result: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) else {
            return result
        }
        let base = url.resolvingSymlinksInPath().path
        for case let file as URL in enumerator {
            let resolved = file.resolvingSymlinksInPath().path
            let relative = String(resolved.dropFirst(base.count))
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                result[relative + "/"] = "dir"
            } else {
                let data = (try? Data(contentsOf: file)) ?? Data()
                result[relative] = "\(data.count):\(data.hashValue)"
            }
        }
        return result
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
