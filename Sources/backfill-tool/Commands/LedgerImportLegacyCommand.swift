import ArgumentParser
import BackfillEngine
import BackfillLedger
import BackfillModel
import Foundation

/// `backfill-tool ledger import-legacy OLD_MANIFEST --landing DIR`: brings the ccxt job's files and statuses over.
struct LedgerImportLegacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-legacy",
        abstract: "Import the files and statuses of the ccxt job's manifest.sqlite (read-only) into the ledger.",
        discussion: """
            Files are registered where they are (inside the landing directory), each for the candles it holds; a row \
            whose file is gone counts for nothing, so the next plan fetches exactly what is missing. Running it \
            again changes nothing.
            """)

    @Argument(help: "The old job's manifest.sqlite (opened read-only).")
    var manifest: String

    @Option(name: .long, help: ArgumentHelp("Landing directory; default: $LANDING_DIR.", valueName: "dir"))
    var landing: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Where the old relative paths start; default: the manifest's directory.", valueName: "dir"))
    var filesDir: String?

    @Option(name: .long, help: "Market of the old job: spot, usdm or coinm.")
    var market: MarketKind = .spot

    @Option(
        name: .long,
        help:
            "Binance base URL, to map exchange ids to unified symbols (exchangeInfo, weight 20); default: $BINANCE_BASE_URL, else Binance's."
    )
    var baseURL: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Map old statuses, e.g. complete=processed (default: complete=downloaded).", valueName: "old=new"))
    var statusMap: [String] = []

    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await ErrorReporting.run {
            guard let landing = LedgerOptions.landing(landing) else {
                throw ValidationError("give --landing DIR (or set LANDING_DIR)")
            }
            let ledgerPath = try options.ledgerPath()
            let same =
                URL(fileURLWithPath: ledgerPath).standardizedFileURL.resolvingSymlinksInPath()
                == URL(fileURLWithPath: manifest).standardizedFileURL.resolvingSymlinksInPath()
            guard !same else {
                throw ValidationError(
                    "--ledger is the old manifest itself: give the new ledger another path (it is never changed)")
            }
            var map = LegacyImport.defaultStatusMap
            for entry in statusMap {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let status = FileStatus(rawValue: parts[1]), status != .processing else {
                    throw ValidationError(
                        "--status-map takes OLD=downloaded|processed|deleted, not '\(entry.prefix(60))'")
                }
                map[parts[0]] = status
            }
            let legacy = try LegacyManifest.read(path: manifest)
            try LegacyImport.check(legacy, statusMap: map)
            let ledger = try options.open(create: true)
            var markets = try ledger.cachedMarkets(exchange: .binance, market: market)
            let ids = Set(legacy.rows.map(\.symbolId))
            if !ids.isSubset(of: Set(markets.map(\.symbolId))) {
                let bundle = ExchangeBundle.make(
                    exchange: .binance, market: market,
                    baseURL: baseURL
                        ?? ProcessInfo.processInfo.environment["BINANCE_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
                    frozenNowMs: nil, apiKey: nil)
                do {
                    markets = try await bundle.markets.markets()
                    await bundle.close()
                } catch {
                    await bundle.close()
                    throw error
                }
            }
            var importer = LegacyImport(
                ledger: ledger, landing: LandingArea(path: landing), market: market, markets: markets,
                filesDirectory: filesDir ?? (manifest as NSString).deletingLastPathComponent.nonEmpty ?? ".")
            importer.statusMap = map
            let report = try importer.run(legacy)
            if options.json {
                try LedgerOptions.printJSON(ImportDocument(report: report))
                return
            }
            var text =
                "Imported \(report.imported) files (\(report.alreadyRegistered) already registered, "
                + "\(report.skipped.count) not imported); \(report.missingCandles) candles inside them are missing "
                + "and stay to be fetched.\n"
            for skipped in report.skipped {
                text += "  not imported: \(skipped.path) (old id \(skipped.legacyId)): \(skipped.reason)\n"
            }
            for path in report.changed { text += "  changed since the old job hashed it: \(path)\n" }
            for (name, value) in report.watermarks.sorted(by: { $0.key < $1.key }) {
                text += "  watermark \(name) = \(ISO8601Instant.format(value))\n"
            }
            try Output.result(text)
        }
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}

/// `ledger import-legacy --json`.
struct ImportDocument: Encodable {
    var formatVersion = 1
    var command = "ledger import-legacy"
    var report: LegacyImport.Report

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case command, report
    }
}
