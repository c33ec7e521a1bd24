import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `ledger import-legacy`: carries the files and statuses of the ccxt job's `manifest.sqlite` into the ledger without
/// fetching again what is there and without claiming coverage for candles that are not there.
///
/// Each old row's file is read where it is (it must lie inside the landing directory) as a candle CSV: it is
/// registered with `source = external`, its range that of its rows (the old names end at the last open time, not at
/// the end of the range), its row count, the SHA-256 of its bytes now and its status mapped (``statusMap``). A file
/// with holes (an exchange gap, a truncated write) counts only for the candles it holds; a row whose file is gone
/// counts for nothing. Watermarks are then recomputed from what was imported — the old job's watermark (its last
/// open time) is not copied: it stands past any page it lost. The old manifest is opened read-only.
package struct LegacyImport: Sendable {
    package var ledger: Ledger
    package var landing: LandingArea
    package var exchange: ExchangeKind = .binance
    package var market: MarketKind
    /// The markets of `market`, to map the old job's exchange ids to unified symbols.
    package var markets: [Market]
    /// Where the old job's relative paths start (the directory of its manifest by default).
    package var filesDirectory: String
    /// Old status → new status.
    package var statusMap: [String: FileStatus] = LegacyImport.defaultStatusMap
    package var actor = "ledger import-legacy"

    /// The ccxt job wrote `complete` once a batch's file was registered; the seed's statuses map to themselves, and
    /// a file `processing` under the old scheduler (which had no leases) becomes `downloaded`, to be claimed again.
    package static let defaultStatusMap: [String: FileStatus] = [
        "complete": .downloaded, "downloaded": .downloaded, "processing": .downloaded, "processed": .processed,
        "deleted": .deleted,
    ]

    package init(
        ledger: Ledger, landing: LandingArea, market: MarketKind, markets: [Market], filesDirectory: String
    ) {
        self.ledger = ledger
        self.landing = landing
        self.market = market
        self.markets = markets
        self.filesDirectory = filesDirectory
    }

    /// A row not imported, and why.
    package struct Skipped: Sendable, Equatable, Encodable {
        package var legacyId: Int64
        package var path: String
        package var reason: String

        private enum CodingKeys: String, CodingKey {
            case path, reason
            case legacyId = "legacy_id"
        }
    }

    /// What an import did.
    package struct Report: Sendable, Equatable, Encodable {
        package var imported = 0
        /// Rows whose file was registered already (an import run again).
        package var alreadyRegistered = 0
        /// Files whose bytes no longer match the old SHA-256 (imported with the hash of what is there).
        package var changed: [String] = []
        package var skipped: [Skipped] = []
        /// Candles inside imported files' ranges that the files do not hold (left to be fetched).
        package var missingCandles: Int64 = 0
        package var watermarks: [String: Int64] = [:]

        private enum CodingKeys: String, CodingKey {
            case imported, changed, skipped, watermarks
            case alreadyRegistered = "already_registered"
            case missingCandles = "missing_candles"
        }
    }

    /// Refused before anything is imported.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownStatuses([String])

        package var description: String {
            switch self {
            case .unknownStatuses(let statuses):
                "the old manifest has statuses this import does not know: "
                    + statuses.map { "'\($0.prefix(40))'" }.joined(separator: ", ")
                    + "; map them with --status-map OLD=downloaded|processed|deleted"
            }
        }
    }

    /// Refuses a manifest with a status `statusMap` does not map (before anything is opened or asked).
    package static func check(_ manifest: LegacyManifest, statusMap: [String: FileStatus]) throws {
        let unknown = Set(manifest.rows.map(\.status)).subtracting(statusMap.keys).sorted()
        guard unknown.isEmpty else { throw Failure.unknownStatuses(unknown) }
    }

    package func run(_ manifest: LegacyManifest) throws -> Report {
        try Self.check(manifest, statusMap: statusMap)
        var bySymbolId: [String: Market] = [:]
        for market in markets where market.market == self.market { bySymbolId[market.symbolId] = market }
        var report = Report()
        var entries: [ImportedFile] = []
        var grids: [Pair: CandleGrid] = [:]
        for row in manifest.rows {
            func skip(_ reason: String) {
                report.skipped.append(Skipped(legacyId: row.id, path: row.path, reason: reason))
            }
            guard let timeframe = Timeframe(rawValue: row.timeframe) else {
                skip("unknown timeframe '\(row.timeframe.prefix(20))'")
                continue
            }
            guard let market = bySymbolId[row.symbolId] else {
                skip("unknown \(self.market.rawValue) symbol '\(row.symbolId.prefix(40))'")
                continue
            }
            let full = row.path.hasPrefix("/") ? row.path : filesDirectory + "/" + row.path
            guard FileManager.default.fileExists(atPath: full) else {
                skip("the file is gone: its candles are not counted")
                continue
            }
            guard let relative = landing.relativePath(ofFile: full) else {
                skip("outside the landing directory \(landing.root.path): move it in, or point --landing at it")
                continue
            }
            guard let bytes = try? landing.read(relative) else {
                skip("cannot be read")
                continue
            }
            let times: [Int64]
            switch ExternalCSV.openTimes(in: bytes) {
            case .success(let found): times = found
            case .failure(let problem):
                skip("not a candle CSV: \(problem)")
                continue
            }
            guard let first = times.first, let last = times.last else {
                skip("holds no candles")
                continue
            }
            let pair = Pair(symbol: market.symbol, timeframe: timeframe)
            let grid = grids[pair] ?? CandleGrid(timeframe, listedAtMs: market.listedAtMs ?? first)
            grids[pair] = grid
            guard let range = TimeRange(first, grid.advance(last, by: 1)) else {
                skip("holds no candles")
                continue
            }
            let sha256 = SHA256Hex.digest(bytes)
            if sha256 != row.sha256 { report.changed.append(relative) }
            let held = ExternalCSV.coverage(of: times, grid: grid, within: range)
            report.missingCandles += grid.candleCount(in: range) - held.runs.reduce(0) { $0 + grid.candleCount(in: $1) }
            let status = statusMap[row.status] ?? .downloaded
            entries.append(
                ImportedFile(
                    file: NewFile(
                        sha256: sha256, path: relative, exchange: exchange, market: self.market, symbol: market.symbol,
                        symbolId: market.symbolId, timeframe: timeframe, range: range, rows: times.count,
                        bytes: bytes.count, source: .external),
                    status: status,
                    reason: "imported from the ccxt job's manifest (id \(row.id), status '\(row.status.prefix(40))')"))
        }
        let ids = try ledger.importFiles(entries, actor: actor)
        report.imported = ids.compactMap { $0 }.count
        report.alreadyRegistered = ids.count - report.imported
        // Watermarks from what is now registered, each pair's coverage contiguous from its first candle.
        let pairs = grids.keys.sorted()
        var snapshot = try ledger.snapshot(exchange: exchange, market: market, pairs: pairs)
        try ExternalCoverage(ledger: ledger, landing: landing, exchange: exchange, market: market)
            .resolve(&snapshot, grids: grids)
        for pair in pairs {
            let covered = snapshot.coverage(of: pair).covered
            guard let first = covered.runs.first, let end = covered.contiguousEnd(from: first.lowerBound) else {
                continue
            }
            let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
            report.watermarks[name] = try ledger.advanceWatermark(name, to: end, actor: actor)
        }
        return report
    }
}
