import Foundation

/// `plan --out PATH`: written by temp file + rename, and only over a regular file (or where nothing is): a FIFO, a
/// device, a directory or a symlink there is refused, never replaced (§11).
enum OutputFile {
    /// Why `path` may not be written, or nil.
    static func refusal(_ path: String) -> String? {
        guard !path.isEmpty else { return "--out needs a path" }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let kind: String
        switch attributes[.type] as? FileAttributeType {
        case .typeRegular?: return nil
        case .typeDirectory?: kind = "a directory"
        case .typeSymbolicLink?: kind = "a symbolic link"
        case .typeCharacterSpecial?, .typeBlockSpecial?: kind = "a device"
        case .typeSocket?: kind = "a socket"
        default: kind = "a FIFO or another special file"
        }
        return "refusing to replace \(path): it is \(kind); --out writes only regular files"
    }

    /// Writes `data` to `path` atomically.
    static func write(_ data: Data, to path: String) throws {
        if let refusal = refusal(path) { throw CLIError(refusal) }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        func failure(_ code: Int32) -> CLIError {
            CLIError("cannot write saved plan \(path): \(String(cString: strerror(code)))")
        }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(errno) }
        let written = data.withUnsafeBytes { buffer -> Int in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, base + offset, buffer.count - offset)
                if n < 0 { return n }
                offset += n
            }
            return offset
        }
        let code = errno
        guard written == data.count, fsync(fd) == 0 else {
            close(fd)
            unlink(temporary.path)
            throw failure(written < 0 ? code : errno)
        }
        close(fd)
        // Checked again just before the rename: the path may have changed meanwhile.
        if let refusal = refusal(path) {
            unlink(temporary.path)
            throw CLIError(refusal)
        }
        guard rename(temporary.path, path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw failure(code)
        }
    }
}
