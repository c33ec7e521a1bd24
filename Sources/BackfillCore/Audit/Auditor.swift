import Foundation

/// `audit` (§7): compares the plan, the ledger, the landing area and (with `verifyRemote`) the exchange, changes
/// nothing, and reports every finding.
///
/// Without `deep` it costs one ledger read per pair and one directory listing per directory: presence and size of
/// every registered file are checked, content only for unregistered files. `deep` also hashes every registered file
/// present and checks its candles against the rules of ``CandleCheck``.
package struct Auditor: Sendable {
    package var plan: Plan
    /// The ledger snapshot the plan was made from (coverage, gaps and watermarks of the plan's pairs).
    package var snapshot: LedgerSnapshot
    package var ledger: Ledger?
    package var landing: LandingArea
    package var columns: ColumnSet
    package var deep = false
    /// How many registered files to re-fetch and compare byte for byte (`--verify-remote N`).
    package var verifyRemote = 0
    package var remote: (any CandleSource)?

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
        try landingFindings(into: &report)
        if verifyRemote > 0, let remote { try await remoteFindings(remote, into: &report) }
        report.findings.sort(by: Self.order)
        return report
    }

    /// How much later than its registration a file's modification time may be without being hashed (clocks of file
    /// systems and the ledger's writer differ slightly; a rewrite by apply itself is checked, and matches).
    static let modifiedToleranceMs: Int64 = 2_000

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
            if let finding = Self.watermarkFinding(
                pair: key, coverage: coverage, exchange: plan.exchange, market: plan.market)
            {
                report.findings.append(finding)
                let covered = coverage.covered
                if let first = covered.runs.first, let end = covered.contiguousEnd(from: first.lowerBound),
                    (coverage.watermark ?? Int64.min) < end
                {
                    report.repairs.append(.watermark(pair: key, to: end))
                }
            }
        }
    }

    /// The watermark must equal the end of the coverage contiguous from the pair's first covered candle.
    static func watermarkFinding(
        pair: Pair, coverage: PairCoverage, exchange: ExchangeKind, market: MarketKind
    )
        -> Finding?
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
        return Finding(
            kind: .watermark, symbol: pair.symbol, timeframe: pair.timeframe,
            range: TimeRange(
                min(contiguous, coverage.watermark ?? contiguous), max(contiguous, coverage.watermark ?? 0)),
            detail: detail)
    }

    // MARK: Ledger against landing area

    func landingFindings(into report: inout AuditReport) throws {
        let exchange = plan.exchange
        let market = plan.market
        let base = "\(exchange.rawValue)/\(market.rawValue)"
        var listings: [String: [String: LandingArea.Entry]] = [:]
        func listing(_ directory: String) throws -> [String: LandingArea.Entry] {
            if let cached = listings[directory] { return cached }
            let entries = try landing.listing(of: directory) ?? [:]
            listings[directory] = entries
            return entries
        }
        var registeredPaths: Set<String> = []
        // Directory → the unified symbol and coverage of the files registered in it (for orphans).
        var owners: [String: (symbol: String, covered: RangeSet)] = [:]
        for pair in try ledger?.registeredPairs(exchange: exchange, market: market) ?? [] {
            let files =
                try ledger?.registeredFiles(
                    exchange: exchange, market: market, symbol: pair.symbol, timeframe: pair.timeframe) ?? []
            let timeframe = Timeframe(rawValue: pair.timeframe)
            var furthest: RegisteredFile?
            for file in files {
                report.files += 1
                registeredPaths.insert(file.path)
                let directory = (file.path as NSString).deletingLastPathComponent
                let name = (file.path as NSString).lastPathComponent
                var owner = owners[directory] ?? (pair.symbol, RangeSet())
                owner.covered.insert(file.range)
                owners[directory] = owner
                // Overlap: a candle covered by two registered files.
                if let previous = furthest, file.range.lowerBound < previous.range.upperBound {
                    report.findings.append(
                        Finding(
                            kind: .overlap, symbol: pair.symbol, timeframe: timeframe,
                            range: file.range.intersection(previous.range), path: file.path,
                            detail: "also covered by \(previous.path) (double-train risk; reported only)"))
                }
                if furthest.map({ file.range.upperBound > $0.range.upperBound }) ?? true { furthest = file }
                guard let entry = try listing(directory)[name] else {
                    // Consumers may move or delete what they claimed; only a `downloaded` file must be there.
                    if file.status == "downloaded" {
                        report.findings.append(
                            Finding(
                                kind: .missingFile, symbol: pair.symbol, timeframe: timeframe, range: file.range,
                                path: file.path,
                                detail: "registered as downloaded, absent on disk: apply fetches it again"))
                        report.repairs.append(.restore(file))
                    }
                    continue
                }
                let consumed = file.status != "downloaded"
                let action =
                    consumed ? "\(file.status) by a consumer: reported only" : "apply rewrites it from the exchange"
                if entry.size != file.bytes {
                    report.findings.append(
                        Finding(
                            kind: .modifiedFile, symbol: pair.symbol, timeframe: timeframe, range: file.range,
                            path: file.path, detail: "\(entry.size) bytes on disk, \(file.bytes) registered: \(action)")
                    )
                    if !consumed { report.repairs.append(.restore(file)) }
                    continue
                }
                // Written after it was registered (an edit in place keeps the size): hashed even without --deep.
                let touched = entry.modifiedMs > file.createdAt + Self.modifiedToleranceMs
                guard deep || touched else { continue }
                let bytes = try landing.read(file.path)
                guard SHA256Hex.digest(bytes) == file.sha256 else {
                    report.findings.append(
                        Finding(
                            kind: .modifiedFile, symbol: pair.symbol, timeframe: timeframe, range: file.range,
                            path: file.path, detail: "content no longer matches the registered SHA-256: \(action)"))
                    if !consumed { report.repairs.append(.restore(file)) }
                    continue
                }
                if deep,
                    let finding = Self.candleFinding(
                        bytes, symbol: pair.symbol, timeframe: timeframe, range: file.range, path: file.path)
                {
                    report.findings.append(finding)
                }
            }
        }
        // Everything on disk the ledger does not know.
        for symbolDirectory in landing.subdirectories(of: base) {
            for tf in landing.subdirectories(of: "\(base)/\(symbolDirectory)") {
                let directory = "\(base)/\(symbolDirectory)/\(tf)"
                for (name, _) in try listing(directory).sorted(by: { $0.key < $1.key }) {
                    let path = "\(directory)/\(name)"
                    guard !registeredPaths.contains(path) else { continue }
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

    /// An unregistered file named like ours: a duplicate of registered content, or an orphan.
    func unregistered(
        path: String, symbol registered: String?, symbolId: String, timeframe: Timeframe?, range: TimeRange,
        covered: RangeSet, into report: inout AuditReport
    ) throws {
        // The unified symbol: from the ledger's files of this directory, else from the plan.
        let planned = plan.pairs.first { $0.symbolId == symbolId && $0.timeframe == timeframe }?.symbol
        let symbol = registered ?? planned ?? symbolId
        let bytes = try landing.read(path)
        if let existing = try ledger?.registeredPath(sha256: SHA256Hex.digest(bytes)) {
            report.findings.append(
                Finding(
                    kind: .duplicateFile, symbol: symbol, timeframe: timeframe, range: range, path: path,
                    detail: "byte-identical to registered \(existing): apply deletes it"))
            report.repairs.append(.delete(path: path))
            return
        }
        let detail: String
        if let rows = CSVValidator.rows(in: bytes, range: range, columns: columns), rows > 0 {
            if covered.intersection(RangeSet(sortedRanges: [range])).runs.isEmpty, let timeframe,
                registered != nil || planned != nil
            {
                detail = "unregistered, valid for its name (\(rows) candles): apply adopts it"
                report.repairs.append(
                    .adopt(path: path, symbol: symbol, symbolId: symbolId, timeframe: timeframe, range: range))
            } else if registered == nil && planned == nil {
                detail = "unregistered, valid, but its symbol is neither planned nor registered: reported only"
            } else {
                detail = "unregistered, valid, but its range is already covered by registered files: reported only"
            }
        } else {
            let first = CandleCheck.violations(in: bytes, timeframe: timeframe, range: range).first
            detail =
                "unregistered and not valid for its name"
                + (first.map { " (line \($0.line) \($0.rule.rawValue): \($0.detail))" } ?? "")
                + ": reported only"
        }
        report.findings.append(
            Finding(kind: .orphanFile, symbol: symbol, timeframe: timeframe, range: range, path: path, detail: detail))
    }

    /// `invalid_candles` for a file, naming the first rows and rules broken (never dropped silently).
    static func candleFinding(
        _ bytes: [UInt8], symbol: String, timeframe: Timeframe?, range: TimeRange, path: String
    ) -> Finding? {
        let violations = CandleCheck.violations(in: bytes, timeframe: timeframe, range: range)
        guard !violations.isEmpty else { return nil }
        var detail = violations.prefix(3).map { "line \($0.line) \($0.rule.rawValue): \($0.detail)" }
            .joined(separator: "; ")
        if violations.count > 3 { detail += "; \(violations.count - 3) more" }
        return Finding(
            kind: .invalidCandles, symbol: symbol, timeframe: timeframe, range: range, path: path,
            detail: detail + " (reported only)")
    }

    /// The range in a name `SYMBOLID__tf__tStart_tEnd.csv` of this directory, or nil when it is not one of ours.
    static func range(ofName name: String, symbolId: String, timeframe: String) -> TimeRange? {
        let prefix = "\(symbolId)__\(timeframe)__"
        guard name.hasPrefix(prefix), name.hasSuffix(".csv") else { return nil }
        let bounds = name.dropFirst(prefix.count).dropLast(4).split(separator: "_", omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = Int64(bounds[0]), let end = Int64(bounds[1]) else { return nil }
        return TimeRange(start, end)
    }

    // MARK: Ledger against the exchange

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
            guard let timeframe = Timeframe(rawValue: file.timeframe), let local = try? landing.read(file.path) else {
                continue
            }
            let task = PlanTask(
                symbol: file.symbol, symbolId: file.symbolId, timeframe: timeframe, range: file.range,
                candles: timeframe.candleCount(in: file.range), path: file.path)
            let rows = try await remote.fetch(task, market: plan.market).filter {
                $0.closeTime < plan.nowMs && file.range.contains($0.openTime)
            }
            report.verified += 1
            let fileColumns: ColumnSet = local.starts(with: Array(CSVFormat.header(.full).utf8)) ? .full : .basic
            let fresh = CSVFormat.render(rows, columns: fileColumns)
            guard fresh != local else { continue }
            report.findings.append(
                Finding(
                    kind: .remoteChanged, symbol: file.symbol, timeframe: timeframe, range: file.range, path: file.path,
                    detail:
                        "the exchange now answers \(rows.count) candles, \(fresh.count) bytes; the file has "
                        + "\(local.count) bytes (reported only)"))
        }
    }
}
