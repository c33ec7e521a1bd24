import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `ledger register FILE`: a file another program wrote into the landing area becomes coverage (§6.4). The file is
/// read as a candle CSV (``ExternalCSV``), hashed, and registered where it is with `source = external`; the pair's
/// watermark moves to the end of its coverage contiguous from its first candle, counting only the candles the file
/// holds. Its range is that of its rows: from the first open time to the end of the last candle.
package struct ExternalRegistration: Sendable {
    package var ledger: Ledger
    package var landing: LandingArea
    package var exchange: ExchangeKind
    package var market: MarketKind
    /// `updated_by` of the row and the watermark.
    package var actor: String

    package init(ledger: Ledger, landing: LandingArea, exchange: ExchangeKind, market: MarketKind, actor: String) {
        self.ledger = ledger
        self.landing = landing
        self.exchange = exchange
        self.market = market
        self.actor = actor
    }

    /// Why a file is not registered.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case outsideLanding(file: String, landing: String)
        case unreadable(file: String)
        case notCandles(file: String, problem: ExternalCSV.Problem)
        case empty(file: String)
        case symbolIdUnknown(symbol: String)
        case alreadyRegistered(file: String, id: Int64)
        case duplicate(file: String, existing: String)

        package var description: String {
            switch self {
            case .outsideLanding(let file, let landing):
                "\(file) is not inside the landing directory \(landing); files are registered where they are"
            case .unreadable(let file): "cannot read \(file)"
            case .notCandles(let file, let problem): "\(file) is not a candle CSV: \(problem)"
            case .empty(let file): "\(file) holds no candles: nothing to register"
            case .symbolIdUnknown(let symbol):
                "cannot tell the exchange id of \(symbol): pass --symbol-id (e.g. BTCUSDT, BTCUSD_PERP)"
            case .alreadyRegistered(let file, let id): "\(file) is already registered (file \(id))"
            case .duplicate(let file, let existing):
                "\(file) has the same content as the registered \(existing): not registered twice"
            }
        }

        /// The file given is not one that can be registered (exit 64); the others are conflicts (exit 1).
        package var isUsage: Bool {
            switch self {
            case .outsideLanding, .unreadable, .notCandles, .empty, .symbolIdUnknown: true
            case .alreadyRegistered, .duplicate: false
            }
        }
    }

    /// What was registered.
    package struct Registered: Sendable, Equatable {
        package var id: Int64
        package var file: NewFile
        /// The candles the file holds (its range minus the grid slots it lacks).
        package var held: RangeSet
        package var watermark: (name: String, value: Int64)?

        package static func == (a: Registered, b: Registered) -> Bool {
            a.id == b.id && a.file == b.file && a.held == b.held && a.watermark?.name == b.watermark?.name
                && a.watermark?.value == b.watermark?.value
        }
    }

    /// Registers `filePath` (absolute, or relative to the current directory) for `symbol` and `timeframe`.
    package func register(
        filePath: String, symbol: String, symbolId: String?, timeframe: Timeframe
    ) throws -> Registered {
        let relative = try relativePath(of: filePath)
        guard let bytes = try? landing.read(relative) else { throw Failure.unreadable(file: filePath) }
        let times: [Int64]
        switch ExternalCSV.openTimes(in: bytes) {
        case .success(let found): times = found
        case .failure(let problem): throw Failure.notCandles(file: filePath, problem: problem)
        }
        guard let first = times.first, let last = times.last else { throw Failure.empty(file: filePath) }
        let cached = try ledger.cachedMarkets(exchange: exchange, market: market).first { $0.symbol == symbol }
        let grid = CandleGrid(timeframe, listedAtMs: cached?.listedAtMs ?? first)
        guard let range = TimeRange(first, grid.advance(last, by: 1)) else { throw Failure.empty(file: filePath) }
        guard
            let id = symbolId ?? cached?.symbolId
                ?? Self.symbolId(fromName: (relative as NSString).lastPathComponent, timeframe: timeframe)
                ?? (market == .spot && symbol.split(separator: "/").count == 2
                    ? symbol.replacingOccurrences(of: "/", with: "") : nil)
        else { throw Failure.symbolIdUnknown(symbol: symbol) }
        if let existing = try ledger.fileId(path: relative) {
            throw Failure.alreadyRegistered(file: filePath, id: existing)
        }
        let file = NewFile(
            sha256: SHA256Hex.digest(bytes), path: relative, exchange: exchange, market: market, symbol: symbol,
            symbolId: id, timeframe: timeframe, range: range, rows: times.count, bytes: bytes.count,
            source: .external)
        let held = ExternalCSV.coverage(of: times, grid: grid, within: range)
        let pair = Pair(symbol: symbol, timeframe: timeframe)
        var snapshot = try ledger.snapshot(exchange: exchange, market: market, pairs: [pair])
        try ExternalCoverage(ledger: ledger, landing: landing, exchange: exchange, market: market)
            .resolve(&snapshot, grids: [pair: grid])
        let covered = snapshot.coverage(of: pair).covered.union(held)
        let watermark = covered.runs.first.flatMap { run in
            covered.contiguousEnd(from: run.lowerBound).map {
                (name: WatermarkName.make(exchange: exchange, market: market, pair: pair), value: $0)
            }
        }
        switch try ledger.commit(file, watermark: watermark, actor: actor) {
        case .registered(let newId):
            return Registered(id: newId, file: file, held: held, watermark: watermark)
        case .duplicate(let existing):
            throw Failure.duplicate(file: filePath, existing: existing)
        case .gap, .leaseLost:
            throw Failure.unreadable(file: filePath)
        }
    }

    func relativePath(of filePath: String) throws -> String {
        guard let relative = landing.relativePath(ofFile: filePath) else {
            throw Failure.outsideLanding(file: filePath, landing: landing.root.path)
        }
        return relative
    }

    /// `BTCUSDT` from `BTCUSDT__1m__….csv`.
    static func symbolId(fromName name: String, timeframe: Timeframe) -> String? {
        let parts = name.components(separatedBy: "__")
        guard parts.count == 3, parts[1] == timeframe.rawValue, !parts[0].isEmpty,
            parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        else { return nil }
        return parts[0]
    }
}

extension LandingArea {
    /// The path of `filePath` (absolute, or relative to the current directory) relative to the landing directory,
    /// symlinks resolved on both sides; nil when it is not inside.
    package func relativePath(ofFile filePath: String) -> String? {
        let absolute = URL(fileURLWithPath: filePath).standardizedFileURL.resolvingSymlinksInPath().path
        let rootPath = root.resolvingSymlinksInPath().path
        let prefix = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
        guard absolute.hasPrefix(prefix), absolute.count > prefix.count else { return nil }
        return String(absolute.dropFirst(prefix.count))
    }
}
