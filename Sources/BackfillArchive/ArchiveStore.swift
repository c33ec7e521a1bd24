import BackfillExchange
import BackfillModel
import BackfillSpec
import Foundation
import Logging
import Synchronization

/// Downloads, verifies and keeps archive files for the tasks that read them (§12).
///
/// A period is fetched once however many tasks read it (concurrent readers wait for the same download), and kept
/// while recently used: at most `capacity` periods are in memory, so months of 1m stay flat. Its `.CHECKSUM` is
/// fetched first and the zip is used only when its SHA-256 matches; a file that cannot be used (404, no CHECKSUM, a
/// mismatch, a bad zip, a malformed row) is warned about once, by URL, and its period left to REST.
package actor ArchiveStore {
    /// A period as the tasks see it.
    package enum Load: Sendable {
        case table(ArchiveTable, ArchiveFileRef)
        case unusable(String)
    }

    package nonisolated let layout: ArchiveLayout
    private let transport: any HTTPTransport
    private let retry: RetryPolicy
    private let time: any TimeSource
    private let logger: Logger
    private let capacity: Int
    private var loads: [String: (load: Task<Load, Never>, used: UInt64, read: Bool)] = [:]
    /// Files found unusable (kept however many periods pass: a reason string each).
    private var failures: [String: String] = [:]
    private var useClock: UInt64 = 0
    /// Periods that announced tasks will read (a count per URL): never let go while pinned.
    private var pins: [String: Int] = [:]
    private var warned: Set<String> = []
    package nonisolated let counters = ArchiveCounters()

    package init(
        layout: ArchiveLayout, transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy(),
        time: any TimeSource = SystemTimeSource(), capacity: Int = 4, logger: Logger = .silent
    ) {
        self.layout = layout
        self.transport = transport
        self.retry = retry
        self.time = time
        self.capacity = max(1, capacity)
        self.logger = logger
    }

    /// The period's file, fetched and verified at first use.
    package func load(_ url: String, range: TimeRange) async -> Load {
        useClock += 1
        if let reason = failures[url] { return .unusable(reason) }
        let task: Task<Load, Never>
        if let entry = loads[url] {
            loads[url]?.used = useClock
            loads[url]?.read = true
            task = entry.load
        } else {
            logger.debug("archive: reading \(url)")
            task = start(url, range: range, read: true)
        }
        let load = await task.value
        if case .unusable(let reason) = load { markUnusable(url, reason) }
        return load
    }

    /// The download and verification of one file, as a task every reader of the period awaits.
    private func start(_ url: String, range: TimeRange, read: Bool) -> Task<Load, Never> {
        let (transport, retry, time, counters) = (transport, retry, time, counters)
        let task = Task {
            await Self.fetch(url, range: range, transport: transport, retry: retry, time: time, counters: counters)
        }
        loads[url] = (task, useClock, read)
        evict(keeping: url)
        return task
    }

    /// Starts fetching a period a task will probably read next (the one after the period being read), so that its
    /// download, checksum and inflating overlap the current period's tasks. Nothing is warned about here: a file
    /// that cannot be used is reported by the task that reads it.
    package func prefetch(_ url: String, range: TimeRange) {
        guard loads[url] == nil, failures[url] == nil else { return }
        logger.debug("archive: prefetching \(url)")
        useClock += 1
        _ = start(url, range: range, read: false)
    }

    /// Remembers that a file cannot be used (its CSV failed when a task parsed it) and frees it.
    package func markUnusable(_ url: String, _ reason: String) {
        failures[url] = reason
        loads[url] = nil
    }

    /// One warning line per file: what is wrong with it and what happens instead.
    package func warn(_ url: String, _ reason: String, consequence: String) {
        guard warned.insert(url).inserted else { return }
        counters.fellBack()
        logger.warning("archive file \(url): \(reason); \(consequence)")
    }

    /// Marks periods a task about to start will read.
    package func pin(_ urls: [String]) {
        for url in urls { pins[url, default: 0] += 1 }
    }

    /// The task is done with them.
    package func unpin(_ urls: [String]) {
        for url in urls {
            guard let count = pins[url] else { continue }
            pins[url] = count > 1 ? count - 1 : nil
        }
        evict()
    }

    /// Drops periods no running task needs beyond `capacity`: those already read first (least recently used
    /// first), then prefetched ones not read yet (readers keep what they hold).
    private func evict(keeping kept: String? = nil) {
        let idle = loads.filter { pins[$0.key] == nil && $0.key != kept }
        guard idle.count > capacity else { return }
        let order = idle.sorted { ($0.value.read ? 0 : 1, $0.value.used) < ($1.value.read ? 0 : 1, $1.value.used) }
        for (url, _) in order.prefix(idle.count - capacity) { loads[url] = nil }
    }

    /// The digest the archive's `.CHECKSUM` of `url` gives now (`audit --verify-remote`), never cached.
    package func currentChecksum(_ url: String) async -> CurrentChecksum {
        await Self.readChecksum(url, transport: transport, retry: retry, time: time, counters: counters)
    }

    package enum CurrentChecksum: Sendable, Equatable {
        case digest(String)
        /// HTTP 404: the file is no longer in the archive.
        case gone
        case failed(String)
    }

    /// The `.CHECKSUM` beside `url`, fetched and parsed.
    static func readChecksum(
        _ url: String, transport: any HTTPTransport, retry: RetryPolicy, time: any TimeSource,
        counters: ArchiveCounters
    ) async -> CurrentChecksum {
        let name = String(url.split(separator: "/").last ?? "")
        switch await get(url + ".CHECKSUM", transport: transport, retry: retry, time: time, counters: counters) {
        case .notFound: return .gone
        case .failed(let reason): return .failed(".CHECKSUM \(reason)")
        case .body(let body):
            guard let digest = checksum(body, name: name) else {
                return .failed(".CHECKSUM is not '<sha256>  \(name)'")
            }
            return .digest(digest)
        }
    }

    /// CHECKSUM, then the zip, verified and indexed.
    static func fetch(
        _ url: String, range: TimeRange, transport: any HTTPTransport, retry: RetryPolicy, time: any TimeSource,
        counters: ArchiveCounters
    ) async -> Load {
        let name = String(url.split(separator: "/").last ?? "")
        let expected: String
        switch await readChecksum(url, transport: transport, retry: retry, time: time, counters: counters) {
        case .gone: return .unusable("no .CHECKSUM beside it (HTTP 404): not used")
        case .failed(let reason): return .unusable(reason)
        case .digest(let digest): expected = digest
        }
        let zip: [UInt8]
        switch await get(url, transport: transport, retry: retry, time: time, counters: counters) {
        case .notFound: return .unusable("not in the archive (HTTP 404)")
        case .failed(let reason): return .unusable(reason)
        case .body(let body): zip = body
        }
        let actual = SHA256Hex.digest(zip)
        guard actual == expected else {
            return .unusable("SHA-256 \(actual) does not match its .CHECKSUM \(expected)")
        }
        let csvName = name.hasSuffix(".zip") ? String(name.dropLast(4)) + ".csv" : name
        do {
            let csv = try ZipReader.singleEntry(zip, expectedName: csvName)
            let table = try ArchiveTable(csv: csv)
            counters.read(bytes: zip.count)
            return .table(table, ArchiveFileRef(url: url, sha256: actual, range: range, verifiedAtMs: time.nowMs()))
        } catch let failure as ZipReader.Failure {
            return .unusable("the zip \(failure)")
        } catch {
            return .unusable("its CSV is malformed (\(error))")
        }
    }

    /// The digest of a `.CHECKSUM` body naming `name`: 64 hex digits, white space, the file name.
    static func checksum(_ body: [UInt8], name: String) -> String? {
        guard body.count <= 1024 else { return nil }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, parts[1] == name || parts[1] == "*" + name else { return nil }
        let digest = parts[0].lowercased()
        guard digest.utf8.count == 64,
            digest.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        return digest
    }

    enum Answer {
        case body([UInt8])
        case notFound
        case failed(String)
    }

    /// One GET, retried like the REST client's (5xx, 408, 429, transport errors); 404 and 403 (S3's answer for a
    /// key that does not exist) are "not there".
    static func get(
        _ url: String, transport: any HTTPTransport, retry: RetryPolicy, time: any TimeSource,
        counters: ArchiveCounters
    ) async -> Answer {
        var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: url.hashValue))
        var last = ""
        for attempt in 1...max(1, retry.maxAttempts) {
            if Task.isCancelled { return .failed("was not fetched (stopped)") }
            counters.sent()
            do {
                let response = try await transport.get(HTTPRequest(url: url))
                switch response.status {
                case 200: return .body(response.body)
                case 404, 403: return .notFound
                case 408, 429, 500...599: last = "HTTP \(response.status)"
                default: return .failed("answered HTTP \(response.status)")
                }
            } catch let error as TransportError {
                last = error.description
            } catch {
                return .failed("was not fetched (\(error))")
            }
            guard attempt < retry.maxAttempts else { break }
            try? await time.sleep(untilMs: time.nowMs() + retry.delayMs(attempt: attempt, using: &generator))
        }
        return .failed("could not be fetched after \(retry.maxAttempts) attempts (\(last))")
    }
}

/// What the archive path fetched: requests (every attempt, CHECKSUMs included), zips read and their bytes, files
/// that fell back.
package final class ArchiveCounters: Sendable {
    package struct Snapshot: Sendable, Equatable {
        package var requests = 0
        package var files = 0
        package var bytes = 0
        package var fallbacks = 0
    }

    private let state = Mutex(Snapshot())

    package init() {}

    package var snapshot: Snapshot { state.withLock { $0 } }

    func sent() { state.withLock { $0.requests += 1 } }

    func read(bytes: Int) {
        state.withLock { s in
            s.files += 1
            s.bytes += bytes
        }
    }

    func fellBack() { state.withLock { $0.fallbacks += 1 } }
}
