import Foundation

/// A unique directory per test, removed when the value is released (GRDBTestCase / swift-format style).
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ label: String = "test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("backfill-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public var path: String { url.path }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name` (creating parent directories) and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// Every file below the directory with its size and a digest of its bytes, for "nothing changed" checks.
    public func inventory() throws -> [String: String] {
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
