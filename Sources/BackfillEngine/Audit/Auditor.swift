import BackfillArchive
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `audit` (§7): compares the plan, the ledger, the landing area and (with `verifyRemote`) the exchange, changes
/// nothing, and reports every finding.
///
/// Without `deep` it costs one ledger read per pair and one directory listing per directory: the presence of every
/// registered file is checked (with `statFiles`, as `apply` does, also its size and modification time), content only
/// for unregistered files. `deep` also hashes every registered file present and checks its candles against the rules
/// of ``CandleCheck``.
package struct Auditor: Sendable {
    package var plan: Plan
    /// The ledger snapshot the plan was made from (coverage, gaps and watermarks of the plan's pairs).
    package var snapshot: LedgerSnapshot
    package var ledger: Ledger?
    package var landing: LandingArea
    package var columns: ColumnSet
    package var deep = false
    /// Compare each registered file's size and modification time with its row (an `fstatat` per file). `apply`
    /// does, to repair files changed in place; `audit` without `--deep` checks presence only (its 2 s budget for a
    /// million files leaves room for `readdir`, not for a `stat` per file).
    package var statFiles = false
    /// Compare with the landing area at all (`plan` skips it on very large ledgers to stay within its second).
    package var scanLanding = true
    /// How many registered files to re-fetch and compare byte for byte (`--verify-remote N`).
    package var verifyRemote = 0
    package var remote: (any CandleSource)?
    /// Where `--verify-remote` re-reads the `.CHECKSUM` of archive-made files (`nil`: they are compared over REST).
    package var archive: ArchiveStore?

    package init(
        plan: Plan, snapshot: LedgerSnapshot, ledger: Ledger?, landing: LandingArea, columns: ColumnSet
    ) {
        self.plan = plan
        self.snapshot = snapshot
        self.ledger = ledger
        self.landing = landing
        self.columns = columns
    }

    /// Runs every check.
    package func run() async throws -> AuditReport {
        var report = AuditReport(deep: deep)
        report.pairs = plan.pairs.count
        planFindings(into: &report)
        try reuploadFindings(into: &report)
        if scanLanding { try await landingFindings(into: &report) }
        if verifyRemote > 0, let remote { try await remoteFindings(remote, into: &report) }
        report.findings.sort(by: Self.order)
        return report
    }

    static func order(_ a: Finding, _ b: Finding) -> Bool {
        let left = (
            a.symbol ?? "", a.timeframe?.rawValue ?? "", a.range?.lowerBound ?? 0, a.kind.rawValue, a.path ?? ""
        )
        let right = (
            b.symbol ?? "", b.timeframe?.rawValue ?? "", b.range?.lowerBound ?? 0, b.kind.rawValue, b.path ?? ""
        )
        return left < right
    }

    // MARK: Plan against ledger: gaps, exchange gaps, watermarks

    func planFindings(into report: inout AuditReport) {
        for pair in plan.pairs {
            // Missing coverage: the plan's tasks, merged into contiguous ranges.
            var runs: [(range: TimeRange, candles: Int64, chunks: Int)] = []
            for task in pair.tasks {
                if let last = runs.last, last.range.upperBound == task.range.lowerBound {
                    runs[runs.count - 1] = (
                        TimeRange(uncheckedLower: last.range.lowerBound, upper: task.range.upperBound),
                        last.candles + task.candles, last.chunks + 1
                    )
                } else {
                    runs.append((task.range, task.candles, 1))
                }
            }
            for run in runs {
                report.findings.append(
                    Finding(
                        kind: .gap, symbol: pair.symbol, timeframe: pair.timeframe, range: run.range,
                        detail: "\(run.candles) candles not covered (\(run.chunks) chunks to fetch)"))
            }
            let key = Pair(symbol: pair.symbol, timeframe: pair.timeframe)
            let coverage = snapshot.coverage(of: key)
            for gap in coverage.gaps.runs {
                report.findings.append(
                    Finding(
                        kind: .exchangeGap, symbol: pair.symbol, timeframe: pair.timeframe, range: gap,
                        detail: "confirmed empty by the exchange"))
            }
            if let (finding, repair) = Self.watermarkFinding(
                pair: key, coverage: coverage, exchange: plan.exchange, market: plan.market)
            {
                report.findings.append(finding)
                if let repair { report.repairs.append(repair) }
            }
        }
    }

    /// The watermark must equal the end of the coverage contiguous from the pair's first covered candle; a missing
    /// or lagging one comes with its repair (moved forward), one ahead is reported only.
    static func watermarkFinding(
        pair: Pair, coverage: PairCoverage, exchange: ExchangeKind, market: MarketKind
    )
        -> (Finding, Repair?)?
    {
        let covered = coverage.covered
        guard let first = covered.runs.first, let contiguous = covered.contiguousEnd(from: first.lowerBound) else {
            return nil
        }
        let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
        let detail: String
        switch coverage.watermark {
        case nil:
            detail = "\(name) is missing; coverage is contiguous to \(contiguous): apply sets it"
        case let value? where value < contiguous:
            detail = "\(name) = \(value) is behind the contiguous coverage (\(contiguous)): apply moves it forward"
        case let value? where value > contiguous:
            detail =
                "\(name) = \(value) is ahead of the contiguous coverage (\(contiguous)): a hole lies behind it "
                + "(reported only: a watermark never moves backwards)"
        default:
            return nil
        }
        let forward = (coverage.watermark ?? Int64.min) < contiguous
        let finding = Finding(
            kind: .watermark, symbol: pair.symbol, timeframe: pair.timeframe,
            range: TimeRange(
                min(contiguous, coverage.watermark ?? contiguous), max(contiguous, coverage.watermark ?? 0)),
            detail: detail, disposition: forward ? .repair : .report)
        return (finding, forward ? .watermark(pair: pair, to: contiguous) : nil)
    }

    // MARK: Ledger against landing area

    /// One pair's files against its directory.
    struct PairAudit: Sendable {
        var directory: String
        var symbol: String
        var files = 0
        var findings: [Finding] = []
        var repairs: [Repair] = []
        var statsSeen: [Int64: FileStat] = [:]
        var unclaimed: [String: LandingArea.Entry] = [:]
        var covered = RangeSet()
        var elsewhere: Set<String> = []
    }

    func audit(
        pair: (symbol: String, symbolId: String, timeframe: Timeframe), base: String, ledger: Ledger,
        rows: [Ledger.FileRow], listing found: LandingArea.Listing?
    ) throws -> PairAudit {
        let directory =
            base + "/" + LandingPath.pairDirectory(symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue)
        var result = PairAudit(directory: directory, symbol: pair.symbol)
        var report = AuditReport(deep: deep)
        let namePrefix = LandingPath.namePrefix(symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue)
        let pathPrefix = directory + "/" + namePrefix
        let directoryPrefix = Array((directory + "/").utf8)
        var listing = found ?? LandingArea.Listing()
        let timeframe = pair.timeframe
        var ranges: [TimeRange] = []
        var furthest: Ledger.FileRow?
        var later: [(Ledger.FileRow, LandingArea.Entry?)] = []
        let heldBySparse = snapshot.coverage(of: Pair(symbol: pair.symbol, timeframe: timeframe)).held
        func held(_ row: Ledger.FileRow) -> RangeSet {
            heldBySparse[row.id] ?? RangeSet(sortedRanges: [row.range])
        }
        func withPath(_ row: Ledger.FileRow) -> Ledger.FileRow {
            guard row.canonical else { return row }
            var row = row
            row.path = "\(pathPrefix)\(row.range.lowerBound)_\(row.range.upperBound).csv"
            return row
        }
        for file in rows {
            result.files += 1
            ranges.append(file.range)
            // Overlap: a candle covered by two registered files.
            // A file another program wrote that does not fill its range overlaps only by the candles it holds.
            if let previous = furthest, file.range.lowerBound < previous.range.upperBound,
                let overlap = held(file).intersection(held(previous)).runs.first
            {
                report.findings.append(
                    Finding(
                        kind: .overlap, symbol: pair.symbol, timeframe: timeframe, range: overlap,
                        path: withPath(file).path,
                        detail: "also covered by \(withPath(previous).path) (double-train risk; reported only)"))
            }
            if furthest.map({ file.range.upperBound > $0.range.upperBound }) ?? true { furthest = file }
            let entry: LandingArea.Entry?
            if file.canonical {
                entry = listing.claim(file.range)
            } else if file.path.utf8.starts(with: directoryPrefix), file.path.utf8.count > directoryPrefix.count {
                let name = String(decoding: file.path.utf8.dropFirst(directoryPrefix.count), as: UTF8.self)
                if let range = Self.range(ofName: name, symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue) {
                    entry = listing.claim(range)
                } else {
                    entry = listing.byName.removeValue(forKey: name)
                }
            } else {
                result.elsewhere.insert(file.path)
                entry = try landing.entry(file.path).map { deep || statFiles ? $0 : .present }
            }
            // Present and not to be looked into (presence only): done. Anything else is checked after the cursor
            // (checks read the ledger again, and a read does not nest).
            if entry.map({ $0.size >= 0 }) ?? true { later.append((withPath(file), entry)) }
        }
        for (file, entry) in later {
            try check(
                file, entry: entry, symbol: pair.symbol, symbolId: pair.symbolId, timeframe: timeframe,
                ledger: ledger, into: &report)
        }
        let entries = listing.unclaimed(prefix: namePrefix)
        result.findings = report.findings
        result.repairs = report.repairs
        result.statsSeen = report.statsSeen
        result.unclaimed = entries
        result.covered = RangeSet(sortedRanges: ranges)
        return result
    }

    /// What the landing check reads before comparing: every registered pair, its ledger rows and its directory's
    /// listing.
    package struct Scan: Sendable {
        var pairs: [(symbol: String, symbolId: String, timeframe: Timeframe)] = []
        var rows: [[Ledger.FileRow]] = []
        var listings: [LandingArea.Listing?] = []
    }

    /// Read before the comparison (`audit` starts it while it plans); `nil`: read by ``run()``.
    package var prefetched: Scan?

    /// Two pipelines at once: the ledger's rows of every pair (one SQLite connection, no contention on its locks)
    /// and the listings of every directory (readdir).
    package static func scan(
        ledger: Ledger, landing: LandingArea, exchange: ExchangeKind, market: MarketKind, stat: Bool
    ) async throws -> Scan {
        let base = LandingPath.base(exchange: exchange, market: market)
        var scan = Scan()
        scan.pairs = try ledger.registeredPairs(exchange: exchange, market: market)
        let pairs = scan.pairs
        try await withThrowingTaskGroup(of: ([[Ledger.FileRow]]?, [LandingArea.Listing?]?).self) { group in
            group.addTask {
                let all = try pairs.map { pair in
                    var out: [Ledger.FileRow] = []
                    try ledger.forEachFile(
                        exchange: exchange, market: market, symbol: pair.symbol, timeframe: pair.timeframe,
                        canonicalPrefix: base + "/"
                            + LandingPath.pairDirectory(symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue)
                            + "/" + LandingPath.namePrefix(symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue)
                    ) { out.append($0) }
                    return out
                }
                return (all, nil)
            }
            group.addTask {
                let all = try pairs.map { pair in
                    try landing.listing(
                        of: base + "/"
                            + LandingPath.pairDirectory(symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue),
                        prefix: LandingPath.namePrefix(symbolId: pair.symbolId, timeframe: pair.timeframe.rawValue),
                        stat: stat)
                }
                return (nil, all)
            }
            for try await (fileRows, found) in group {
                if let fileRows { scan.rows = fileRows }
                if let found { scan.listings = found }
            }
        }
        return scan
    }

    func landingFindings(into report: inout AuditReport) async throws {
        let exchange = plan.exchange
        let market = plan.market
        let base = LandingPath.base(exchange: exchange, market: market)
        // Per directory: the entries no registered file has claimed, and the files registered there. Pairs are
        // checked on every core at once (a million files: a listing and a ledger cursor per pair).
        var unclaimed: [String: [String: LandingArea.Entry]] = [:]
        var owners: [String: (symbol: String, covered: RangeSet)] = [:]
        // Registered paths outside their pair's directory (written by another program): checked one by one.
        var elsewhere: Set<String> = []
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let read: Scan
        if let prefetched {
            read = prefetched
        } else if let ledger {
            read = try await Self.scan(
                ledger: ledger, landing: landing, exchange: exchange, market: market, stat: deep || statFiles)
        } else {
            read = Scan()
        }
        let pairs = read.pairs
        var rows = read.rows
        var listings = read.listings
        try await withThrowingTaskGroup(of: PairAudit.self) { group in
            var next = 0
            func add() {
                guard next < pairs.count, let ledger else { return }
                let index = next
                next += 1
                let (pairRows, listing) = (rows[index], listings[index])
                rows[index] = []
                listings[index] = nil
                group.addTask {
                    try audit(pair: pairs[index], base: base, ledger: ledger, rows: pairRows, listing: listing)
                }
            }
            for _ in 0..<width { add() }
            while let done = try await group.next() {
                report.files += done.files
                report.findings += done.findings
                report.repairs += done.repairs
                report.statsSeen.merge(done.statsSeen) { $1 }
                elsewhere.formUnion(done.elsewhere)
                unclaimed[done.directory] = done.unclaimed
                owners[done.directory] = (done.symbol, done.covered)
                add()
            }
        }
        // Everything on disk the ledger does not know.
        for symbolDirectory in landing.subdirectories(of: base) {
            for tf in landing.subdirectories(of: "\(base)/\(symbolDirectory)") {
                let directory = "\(base)/\(symbolDirectory)/\(tf)"
                let entries =
                    try unclaimed[directory]
                    ?? landing.listing(
                        of: directory, prefix: LandingPath.namePrefix(symbolId: symbolDirectory, timeframe: tf),
                        stat: false)?
                    .unclaimed(prefix: LandingPath.namePrefix(symbolId: symbolDirectory, timeframe: tf)) ?? [:]
                for name in entries.keys.sorted() {
                    let path = "\(directory)/\(name)"
                    guard !elsewhere.contains(path) else { continue }
                    let symbol = owners[directory]?.symbol ?? symbolDirectory
                    if name.hasPrefix(".") && name.hasSuffix(".partial") {
                        report.findings.append(
                            Finding(
                                kind: .strayPartial, symbol: symbol, timeframe: Timeframe(rawValue: tf), path: path,
                                detail: "left by an interrupted write: apply deletes it"))
                        report.repairs.append(.delete(path: path))
                        continue
                    }
                    guard let range = Self.range(ofName: name, symbolId: symbolDirectory, timeframe: tf) else {
                        continue  // not one of ours
                    }
                    try unregistered(
                        path: path, symbol: owners[directory]?.symbol, symbolId: symbolDirectory,
                        timeframe: Timeframe(rawValue: tf), range: range,
                        covered: owners[directory]?.covered ?? RangeSet(), into: &report)
                }
            }
        }
    }

    /// One registered file against what is on disk.
    func check(
        _ file: Ledger.FileRow, entry: LandingArea.Entry?, symbol: String, symbolId: String, timeframe: Timeframe,
        ledger: Ledger, into report: inout AuditReport
    ) throws {
        // The registered hash, read once and only when needed (a read per file would not nest in the cursor).
        var sha256: String?
        func registeredSHA256() throws -> String {
            if let sha256 { return sha256 }
            sha256 = try ledger.sha256(ofFile: file.id) ?? ""
            return sha256 ?? ""
        }
        /// `missing_file` / `modified_file`, with apply's restore when the file is still apply's to rewrite.
        func found(_ kind: Finding.Kind, _ detail: String, restore: Bool) throws {
            report.findings.append(
                Finding(
                    kind: kind, symbol: symbol, timeframe: timeframe, range: file.range, path: file.path,
                    detail: detail, disposition: restore ? .repair : .report))
            guard restore else { return }
            report.repairs.append(
                .restore(
                    RegisteredFile(
                        id: file.id, path: file.path, sha256: try registeredSHA256(), symbol: symbol,
                        symbolId: symbolId, timeframe: timeframe, range: file.range, bytes: file.bytes,
                        status: file.status, createdAt: file.createdAt)))
        }
        let consumed = file.status != .downloaded
        guard let entry else {
            // Consumers may move or delete what they claimed; only a `downloaded` file must be there.
            if !consumed {
                try found(
                    .missingFile, "registered as downloaded, absent on disk: apply fetches it again", restore: true)
            }
            return
        }
        // Presence only (audit without --deep): a listing without sizes.
        guard entry.size >= 0 else { return }
        let action = consumed ? "\(file.status) by a consumer: reported only" : "apply rewrites it from the exchange"
        if entry.size != file.bytes {
            try found(
                .modifiedFile, "\(entry.size) bytes on disk, \(file.bytes) registered: \(action)", restore: !consumed)
            return
        }
        // Its stat differs from the registered one in any way (an edit in place keeps the size; a copy put back
        // has another inode; no tolerance window): hashed even without --deep. A row without a stat is hashed once.
        let touched = file.stat != entry.stat
        guard deep || touched else { return }
        let bytes = try landing.read(file.path)
        guard SHA256Hex.digest(bytes) == (try registeredSHA256()) else {
            try found(
                .modifiedFile, "content no longer matches the registered SHA-256: \(action)", restore: !consumed)
            return
        }
        // The same content: its new stat is recorded by apply, so it is not hashed again until it changes.
        if touched { report.statsSeen[file.id] = entry.stat }
        if deep,
            let finding = Self.candleFinding(
                bytes, symbol: symbol, grid: timeframe.grid(listedAtMs: snapshot.listings[symbol]),
                range: file.range, path: file.path)
        {
            report.findings.append(finding)
        }
    }

    /// An unregistered file named like ours: a duplicate of registered content, or an orphan.
    func unregistered(
        path: String, symbol registered: String?, symbolId: String, timeframe: Timeframe?, range: TimeRange,
        covered: RangeSet, into report: inout AuditReport
    ) throws {
        // The unified symbol: from the ledger's files of this directory, else from the plan.
        let planned = plan.pairs.first { $0.symbolId == symbolId && $0.timeframe == timeframe }?.symbol
        let symbol = registered ?? planned ?? symbolId
        let bytes = try landing.read(path)
        if let timeframe,
            let existing = try ledger?.registeredPath(
                sha256: SHA256Hex.digest(bytes), exchange: plan.exchange, market: plan.market, symbol: symbol,
                timeframe: timeframe)
        {
            report.findings.append(
                Finding(
                    kind: .duplicateFile, symbol: symbol, timeframe: timeframe, range: range, path: path,
                    detail: "byte-identical to registered \(existing): apply deletes it"))
            report.repairs.append(.delete(path: path))
            return
        }
        let detail: String
        var disposition = Finding.Disposition.report
        let slots = timeframe.map { Int64($0.grid(listedAtMs: snapshot.listings[symbol]).candleCount(in: range)) }
        if let rows = CSVValidator.rows(in: bytes, range: range, columns: columns), rows > 0 {
            let uncovered = covered.intersection(RangeSet(sortedRanges: [range])).runs.isEmpty
            if uncovered, let slots, Int64(rows) != slots, registered != nil || planned != nil {
                // Sparse or truncated: never taken as proof that candles are absent (§5 Adoption).
                detail =
                    "unregistered, holds \(rows) of the \(slots) candles of its name: apply fetches the range and "
                    + "keeps the file only if the exchange's bytes are the same"
            } else if uncovered, let timeframe, registered != nil || planned != nil {
                detail = "unregistered, valid for its name (\(rows) candles): apply adopts it"
                disposition = .repair
                report.repairs.append(
                    .adopt(path: path, symbol: symbol, symbolId: symbolId, timeframe: timeframe, range: range))
            } else if registered == nil && planned == nil {
                detail = "unregistered, valid, but its symbol is neither planned nor registered: reported only"
            } else {
                detail = "unregistered, valid, but its range is already covered by registered files: reported only"
            }
        } else {
            let grid = timeframe.map { $0.grid(listedAtMs: snapshot.listings[symbol]) }
            let first = CandleCheck.violations(in: bytes, grid: grid, range: range).first
            detail =
                "unregistered and not valid for its name"
                + (first.map { " (line \($0.line) \($0.rule.rawValue): \($0.detail))" } ?? "")
                + ": reported only"
        }
        report.findings.append(
            Finding(
                kind: .orphanFile, symbol: symbol, timeframe: timeframe, range: range, path: path, detail: detail,
                disposition: disposition))
    }

    /// `invalid_candles` for a file, naming the first rows and rules broken (never dropped silently).
    static func candleFinding(
        _ bytes: [UInt8], symbol: String, grid: CandleGrid?, range: TimeRange, path: String
    ) -> Finding? {
        let violations = CandleCheck.violations(in: bytes, grid: grid, range: range)
        guard !violations.isEmpty else { return nil }
        var detail = violations.prefix(3).map { "line \($0.line) \($0.rule.rawValue): \($0.detail)" }
            .joined(separator: "; ")
        if violations.count > 3 { detail += "; \(violations.count - 3) more" }
        return Finding(
            kind: .invalidCandles, symbol: symbol, timeframe: grid?.timeframe, range: range, path: path,
            detail: detail + " (reported only)")
    }

    /// The range in a name `SYMBOLID__tf__tStart_tEnd.csv` of this directory, or nil when it is not one of ours
    /// (the directory listing's parser, so that both agree on what a canonical name is).
    static func range(ofName name: String, symbolId: String, timeframe: String) -> TimeRange? {
        let prefix = Array(LandingPath.namePrefix(symbolId: symbolId, timeframe: timeframe).utf8)
        return Array(name.utf8).withUnsafeBytes { LandingPath.range(ofName: $0, prefix: prefix) }
    }

    // MARK: Ledger against the exchange

    /// Files made from an archive file that a later run verified with another digest (a re-upload).
    func reuploadFindings(into report: inout AuditReport) throws {
        guard let ledger else { return }
        for (file, old, new) in try ledger.supersededArchiveFiles(exchange: plan.exchange, market: plan.market) {
            report.findings.append(
                Finding(
                    kind: .remoteChanged, symbol: file.symbol, timeframe: file.timeframe, range: file.range,
                    path: file.path,
                    detail: "archive file \(old.url) was re-uploaded: a later run verified \(new), the file was made "
                        + "from \(old.sha256) (reported only)"))
        }
    }

    /// Re-fetches `verifyRemote` registered files, spread evenly over the ledger, and compares bytes.
    func remoteFindings(_ remote: any CandleSource, into report: inout AuditReport) async throws {
        guard let ledger else { return }
        var candidates: [RegisteredFile] = []
        for pair in try ledger.registeredPairs(exchange: plan.exchange, market: plan.market) {
            candidates += try ledger.registeredFiles(
                exchange: plan.exchange, market: plan.market, symbol: pair.symbol, timeframe: pair.timeframe)
        }
        guard !candidates.isEmpty else { return }
        let count = min(verifyRemote, candidates.count)
        let step = Double(candidates.count) / Double(count)
        for index in 0..<count {
            let file = candidates[Int(Double(index) * step)]
            // Fetched by the id the exchange gives the file's symbol today, not the id the ledger recorded: a file
            // registered under another market's id then differs from what the exchange answers.
            var task = PlanTask(file, listings: snapshot.listings)
            if let planned = plan.pairs.first(where: { $0.symbol == file.symbol && $0.timeframe == file.timeframe }) {
                task.symbolId = planned.symbolId
            }
            if let archive, case let sources = try ledger.archiveFiles(ofFile: file.id), !sources.isEmpty {
                report.verified += 1
                for source in sources {
                    let detail: String
                    switch await archive.currentChecksum(source.url) {
                    case .digest(let digest) where digest == source.sha256:
                        continue
                    case .digest(let digest):
                        detail =
                            "archive file \(source.url) was re-uploaded: its .CHECKSUM now says \(digest), the file was "
                            + "made from \(source.sha256) (reported only)"
                    case .gone:
                        detail = "archive file \(source.url) is no longer in the archive (HTTP 404; reported only)"
                    case .failed(let reason):
                        detail = "archive file \(source.url): \(reason); not verified"
                    }
                    report.findings.append(
                        Finding(
                            kind: .remoteChanged, symbol: file.symbol, timeframe: file.timeframe, range: file.range,
                            path: file.path, detail: detail))
                    break
                }
                continue
            }
            guard let local = try? landing.read(file.path) else { continue }
            let rows = try await remote.closedCandles(task, market: plan.market, serverNowMs: plan.nowMs)
            report.verified += 1
            let fileColumns: ColumnSet = local.starts(with: Array(CSVFormat.header(.full).utf8)) ? .full : .basic
            let fresh = CSVFormat.render(rows, columns: fileColumns)
            guard fresh != local else { continue }
            report.findings.append(
                Finding(
                    kind: .remoteChanged, symbol: file.symbol, timeframe: task.timeframe, range: file.range,
                    path: file.path,
                    detail:
                        "the exchange now answers \(rows.count) candles, \(fresh.count) bytes for \(task.symbolId); "
                        + "the file has \(local.count) bytes (reported only)"))
        }
    }
}
