import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// Writes landing files atomically (§4.1): `.<name>.partial` in the same directory, fsync, rename, fsync the
/// directory. A file is never visible under its final name half-written.
package struct LandingArea: Sendable {
    package let root: URL

    package init(path: String) {
        root = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
    }

    package enum Failure: Error, Equatable, CustomStringConvertible {
        case outsideLanding(String)
        case io(path: String, reason: String)
        /// The landing directory cannot be used at all.
        case unusable(path: String, reason: String)

        package var description: String {
            switch self {
            case .unusable(let path, let reason): "landing directory \(path) cannot be used: \(reason)"
            case .outsideLanding(let path): "refusing a path outside the landing directory: \(path)"
            case .io(let path, let reason): "cannot write \(path): \(reason)"
            }
        }
    }

    /// The absolute URL of a landing-relative path, refusing anything that would leave the landing directory.
    package func url(for relative: String) throws(Failure) -> URL {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), !parts.isEmpty,
            parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") })
        else { throw .outsideLanding(relative) }
        return root.appendingPathComponent(relative)
    }

    /// The `.partial` sibling a file is written to before its rename.
    package static func partialURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".partial")
    }

    /// Writes `bytes` to `relative` atomically and durably.
    package func write(_ bytes: [UInt8], to relative: String) throws(Failure) {
        try publish(try writePartial(bytes, for: relative), as: relative)
    }

    /// First half of ``write(_:to:)``: the bytes, fsynced, under the `.partial` name.
    package func writePartial(_ bytes: [UInt8], for relative: String) throws(Failure) -> URL {
        let final = try url(for: relative)
        let directory = final.deletingLastPathComponent()
        let partial = Self.partialURL(for: final)
        // Writes never follow a symlink out of the landing directory (§11): the deepest existing ancestor is
        // checked on its resolved path before anything is created, and the directory again once it exists.
        try checkInside(deepestExisting(directory), relative: relative)
        do {
            try DirectoryMaker.create(directory.path)
        } catch {
            throw .io(path: directory.path, reason: error.description)
        }
        try checkInside(directory, relative: relative)
        let fd = open(partial.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw .io(path: partial.path, reason: String(cString: strerror(errno))) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Foundation.write(fd, buffer.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(partial.path)
                throw .io(path: partial.path, reason: reason)
            }
            offset += written
        }
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(partial.path)
            throw .io(path: partial.path, reason: reason)
        }
        close(fd)
        return partial
    }

    /// The directory itself or its nearest ancestor that exists.
    private func deepestExisting(_ directory: URL) -> URL {
        var current = directory
        while current.path.count > 1, !FileManager.default.fileExists(atPath: current.path) {
            current = current.deletingLastPathComponent()
        }
        return current
    }

    /// Refuses `directory` when its resolved path is not the landing directory's or below it.
    private func checkInside(_ directory: URL, relative: String) throws(Failure) {
        func resolved(_ path: String) -> String? {
            guard let pointer = realpath(path, nil) else { return nil }
            defer { free(pointer) }
            return String(cString: pointer)
        }
        // The landing directory itself may be reached through a symlink (a mounted volume): only what lies
        // below it must stay below it.
        guard let base = resolved(root.path) ?? resolved(deepestExisting(root).path) else { return }
        guard let real = resolved(directory.path) else {
            throw .io(path: directory.path, reason: String(cString: strerror(errno)))
        }
        let isRootOrAbove = root.path.hasPrefix(directory.path) && directory.path.count <= root.path.count
        guard isRootOrAbove || real == base || real.hasPrefix(base.hasSuffix("/") ? base : base + "/") else {
            throw .outsideLanding("\(relative): a symbolic link leads outside the landing directory")
        }
    }

    /// Second half of ``write(_:to:)``: rename to the final name, then (unless the caller batches it with
    /// ``syncDirectories(of:)`` before registering) fsync the directory.
    package func publish(_ partial: URL, as relative: String, syncDirectory: Bool = true) throws(Failure) {
        let final = try url(for: relative)
        guard rename(partial.path, final.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial.path)
            throw .io(path: final.path, reason: reason)
        }
        if syncDirectory { try syncDirectories(of: [relative]) }
    }

    /// Fsyncs the directories holding `relatives` (each once), so that their renames survive a power loss: `apply`
    /// calls it once per group commit, before the ledger registers the files.
    package func syncDirectories(of relatives: some Sequence<String>) throws(Failure) {
        var seen: Set<String> = []
        for relative in relatives {
            let directory = try url(for: relative).deletingLastPathComponent().path
            guard seen.insert(directory).inserted else { continue }
            let fd = open(directory, O_RDONLY)
            guard fd >= 0 else { throw .io(path: directory, reason: String(cString: strerror(errno))) }
            let code = fsync(fd) == 0 ? 0 : errno
            close(fd)
            // EINVAL: a file system that cannot sync directories (nothing to wait for).
            guard code == 0 || code == EINVAL else {
                throw .io(path: directory, reason: String(cString: strerror(code)))
            }
        }
    }

    /// A landing file's size, modification time and inode, from a directory listing (size -1: presence only).
    package struct Entry: Sendable, Equatable {
        package var size: Int
        package var modifiedNs: Int64
        package var inode: UInt64

        /// Present, nothing more known (a listing without `stat`).
        package static let present = Entry(size: -1, modifiedNs: 0, inode: 0)

        init(size: Int, modifiedNs: Int64, inode: UInt64) {
            self.size = size
            self.modifiedNs = modifiedNs
            self.inode = inode
        }

        init(_ info: stat) {
            size = Int(info.st_size)
            modifiedNs = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
            inode = UInt64(info.st_ino)
        }

        /// What the ledger records of the file.
        package var stat: FileStat { FileStat(size: size, modifiedNs: modifiedNs, inode: inode) }
    }

    /// A directory's regular files: those named `<prefix><tStart>_<tEnd>.csv` by their range (parsed from the
    /// directory entry's bytes, no string made; sorted, so that ledger rows in range order are matched by a merge walk
    /// with no hashing), the others by name.
    package struct Listing: Sendable {
        package var byRange: [(range: TimeRange, entry: Entry)] = []
        package var byName: [String: Entry] = [:]
        /// Entries of `byRange` matched by ``claim(_:)``.
        private var claimed: [Bool] = []
        private var cursor = 0

        package init() {}

        mutating func sort() {
            byRange.sort { $0.range < $1.range }
            claimed = Array(repeating: false, count: byRange.count)
        }

        /// The entry named for `range`, once: calls in ascending order walk forward; others search.
        package mutating func claim(_ range: TimeRange) -> Entry? {
            while cursor < byRange.count && byRange[cursor].range < range { cursor += 1 }
            var index = cursor
            if !(index < byRange.count && byRange[index].range == range) {
                var (low, high) = (0, byRange.count)
                while low < high {
                    let middle = (low + high) / 2
                    if byRange[middle].range < range { low = middle + 1 } else { high = middle }
                }
                index = low
            }
            guard index < byRange.count, byRange[index].range == range, !claimed[index] else { return nil }
            claimed[index] = true
            return byRange[index].entry
        }

        /// Every entry not claimed, by name (ranges rendered back with `prefix`).
        package func unclaimed(prefix: String) -> [String: Entry] {
            var names = byName
            for (index, item) in byRange.enumerated() where !claimed[index] {
                names["\(prefix)\(item.range.lowerBound)_\(item.range.upperBound).csv"] = item.entry
            }
            return names
        }
    }

    /// The regular files of a landing directory (`nil` when the directory does not exist): one `readdir` pass.
    /// - Parameters:
    ///   - prefix: the name prefix of the directory's own files (`BTCUSDT__1m__`), keyed by range.
    ///   - stat: read each file's size and modification time (an `fstatat` per entry, ~3 µs each here); without
    ///     it, entries carry size -1 and only `readdir` runs (`audit`'s default: a million files in about a second).
    package func listing(of relativeDirectory: String, prefix: String, stat withStat: Bool) throws(Failure) -> Listing?
    {
        let directory = try url(for: relativeDirectory).path
        guard let handle = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .io(path: directory, reason: String(cString: strerror(errno)))
        }
        defer { closedir(handle) }
        let fd = dirfd(handle)
        let prefixBytes = Array(prefix.utf8)
        var listing = Listing()
        while let entry = readdir(handle) {
            let type = entry.pointee.d_type
            var found: Entry?
            if !withStat && type != UInt8(DT_UNKNOWN) {
                guard type == UInt8(DT_REG) else { continue }
                found = .present
            }
            let key: (range: TimeRange?, name: String?) = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return (nil, nil) }
                let length = strlen(base)
                let bytes = UnsafeRawBufferPointer(start: raw.baseAddress, count: length)
                if let range = LandingPath.range(ofName: bytes, prefix: prefixBytes) { return (range, nil) }
                return (nil, String(cString: base))
            }
            if let name = key.name, name.isEmpty || name == "." || name == ".." { continue }
            if found == nil {
                var info = stat()
                let name = key.name ?? key.range.map { "\(prefix)\($0.lowerBound)_\($0.upperBound).csv" } ?? ""
                guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                    continue
                }
                found = Entry(info)
            }
            if let range = key.range {
                listing.byRange.append((range, found ?? .present))
            } else if let name = key.name {
                listing.byName[name] = found
            }
        }
        listing.sort()
        return listing
    }

    /// One landing file's size, modification time and inode (`nil` when it is absent or not a regular file).
    package func entry(_ relative: String) throws(Failure) -> Entry? {
        var info = stat()
        guard lstat(try url(for: relative).path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Entry(info)
    }

    /// The subdirectories of a landing directory (empty when it does not exist).
    package func subdirectories(of relativeDirectory: String) -> [String] {
        guard let base = try? url(for: relativeDirectory),
            let names = try? FileManager.default.contentsOfDirectory(atPath: base.path)
        else { return [] }
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(
                atPath: base.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }

    /// Reads a landing file.
    package func read(_ relative: String) throws(Failure) -> [UInt8] {
        let target = try url(for: relative)
        guard let data = FileManager.default.contents(atPath: target.path) else {
            throw .io(path: target.path, reason: "cannot read")
        }
        return Array(data)
    }

    /// Removes a landing file (duplicates).
    package func remove(_ relative: String) throws(Failure) {
        let target = try url(for: relative)
        guard unlink(target.path) == 0 || errno == ENOENT else {
            throw .io(path: target.path, reason: String(cString: strerror(errno)))
        }
    }

    /// Refuses a landing area that cannot hold `relativeDirectory` (a file where a directory should be, a parent that
    /// is not writable) before `apply` creates anything, a new ledger included.
    package func preflight(_ relativeDirectory: String) throws(Failure) {
        let directory = root.appendingPathComponent(relativeDirectory)
        if let problem = DirectoryMaker.problem(with: directory.path) {
            throw .unusable(path: root.path, reason: problem)
        }
        try checkInside(deepestExisting(directory), relative: relativeDirectory)
    }
}
