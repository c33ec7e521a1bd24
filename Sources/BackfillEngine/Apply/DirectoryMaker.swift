import Foundation

/// Creates directories with `mkdir(2)` one level at a time, so that a failure says what is in the way in one line
/// ("incoming/binance is a file, not a directory", "permission denied creating incoming/binance/spot") instead of
/// Foundation's "The operation could not be completed (NSCocoaErrorDomain error 512)".
package enum DirectoryMaker {
    /// Why `path` cannot be a directory (or be created), or `nil` when it is one or can be made.
    /// - Parameter creating: whether missing levels may be created (otherwise a missing level is the answer).
    package static func problem(with path: String, creating: Bool = true) -> String? {
        let levels = Self.levels(of: path)
        var index = levels.count - 1
        // The deepest level that exists (following symlinks: the landing directory may be reached through one).
        var info = stat()
        while index >= 0, stat(levels[index], &info) != 0 {
            if errno != ENOENT && errno != ENOTDIR {
                return "cannot look at \(levels[index]): \(String(cString: strerror(errno)))"
            }
            index -= 1
        }
        guard index >= 0 else { return nil }
        let existing = levels[index]
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(existing) is a file, not a directory" }
        if index == levels.count - 1 {
            return access(existing, W_OK | X_OK) == 0
                ? nil : "\(existing) is not writable (\(String(cString: strerror(errno))))"
        }
        guard creating else { return "\(levels[index + 1]) does not exist" }
        guard access(existing, W_OK | X_OK) == 0 else {
            return
                "cannot create \(levels[index + 1]): \(existing) is not writable (\(String(cString: strerror(errno))))"
        }
        return nil
    }

    /// Creates `path` and its missing parents.
    /// - Throws: a one-line reason naming the level in the way.
    package static func create(_ path: String) throws(Reason) {
        for level in levels(of: path) {
            var info = stat()
            if stat(level, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else { throw Reason("\(level) is a file, not a directory") }
                continue
            }
            guard errno == ENOENT || errno == ENOTDIR else {
                throw Reason("cannot look at \(level): \(String(cString: strerror(errno)))")
            }
            if mkdir(level, 0o755) != 0, errno != EEXIST {
                let code = errno
                switch code {
                case EACCES, EPERM:
                    throw Reason("permission denied creating \(level)")
                case EROFS:
                    throw Reason("cannot create \(level): read-only file system")
                case ENOSPC, EDQUOT:
                    throw Reason("cannot create \(level): no space left on the device")
                default:
                    throw Reason("cannot create \(level): \(String(cString: strerror(code)))")
                }
            }
        }
    }

    /// `/a`, `/a/b`, `/a/b/c` for `/a/b/c` (relative paths likewise, from their first component).
    static func levels(of path: String) -> [String] {
        let absolute = path.hasPrefix("/")
        var current = absolute ? "" : "."
        var levels: [String] = []
        for part in path.split(separator: "/") where part != "." {
            current = current == "." ? String(part) : current + "/" + part
            levels.append(current)
        }
        return levels
    }

    /// Why a directory could not be made: one line.
    package struct Reason: Error, Equatable, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }
}
