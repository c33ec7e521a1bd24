import ArgumentParser
import BackfillEngine
import BackfillLedger
import BackfillModel
import Foundation

/// `backfill-tool ledger register FILE --symbol S --timeframe TF`: a file another program wrote into the landing
/// area becomes coverage (`source = external`), validated and hashed; the pair's watermark moves.
struct LedgerRegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register", abstract: "Register a candle file another program wrote into the landing area.")

    @Argument(help: "The CSV file, inside the landing directory.")
    var file: String

    @Option(name: .long, help: "Unified symbol, e.g. BTC/USDT.")
    var symbol: String

    @Option(name: .long, help: "Timeframe, e.g. 1m.")
    var timeframe: Timeframe

    @Option(name: .long, help: "Market: spot, usdm or coinm.")
    var market: MarketKind = .spot

    @Option(name: .long, help: "Exchange: binance (or simulated, for the demo).")
    var exchange: ExchangeKind = .binance

    @Option(
        name: .long,
        help: "Exchange id of the symbol (default: the markets cache, the file's name, or BTC/USDT → BTCUSDT).")
    var symbolId: String?

    @Option(name: .long, help: ArgumentHelp("Landing directory; default: $LANDING_DIR.", valueName: "dir"))
    var landing: String?

    @Option(name: .long, help: "Recorded as updated_by.")
    var actor = "ledger register"

    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await ErrorReporting.run {
            guard let landing = LedgerOptions.landing(landing) else {
                throw ValidationError("give --landing DIR (or set LANDING_DIR)")
            }
            let registered = try ExternalRegistration(
                ledger: options.open(create: true), landing: LandingArea(path: landing), exchange: exchange,
                market: market, actor: actor
            ).register(filePath: file, symbol: symbol, symbolId: symbolId, timeframe: timeframe)
            let missing = RangeSet(sortedRanges: [registered.file.range]).subtracting(registered.held).runs
            if options.json {
                try LedgerOptions.printJSON(
                    RegisterDocument(
                        id: registered.id, path: registered.file.path, sha256: registered.file.sha256,
                        tStart: registered.file.range.lowerBound, tEnd: registered.file.range.upperBound,
                        rows: registered.file.rows, missing: missing, watermark: registered.watermark?.value))
            } else {
                var text =
                    "Registered \(registered.file.path) as file \(registered.id): \(registered.file.symbol) "
                    + "\(timeframe.rawValue) [\(registered.file.range.lowerBound), \(registered.file.range.upperBound)) "
                    + "\(registered.file.rows) candles"
                if !missing.isEmpty { text += "; \(missing.count) holes inside it stay to be fetched" }
                try Output.result(text + ".\n")
            }
        }
    }
}

extension MarketKind: ExpressibleByArgument {}
extension ExchangeKind: ExpressibleByArgument {}
extension Timeframe: ExpressibleByArgument {}

/// `ledger register --json`.
struct RegisterDocument: Encodable {
    var formatVersion = 1
    var command = "ledger register"
    var id: Int64
    var path: String
    var sha256: String
    var tStart: Int64
    var tEnd: Int64
    var rows: Int
    var missing: [TimeRange]
    var watermark: Int64?

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case command, id, path, sha256, rows, missing, watermark
        case tStart = "t_start"
        case tEnd = "t_end"
    }
}
