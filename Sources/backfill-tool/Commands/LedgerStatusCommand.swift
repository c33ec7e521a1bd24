import ArgumentParser
import BackfillEngine
import BackfillLedger
import BackfillModel
import Foundation

/// `backfill-tool ledger status`: per pair, coverage, holes, exchange gaps, watermark and files by status.
struct LedgerStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Per pair: coverage, holes, gaps, watermark and files by status.")

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Landing directory (files other programs registered are read there); default: $LANDING_DIR.",
            valueName: "dir"))
    var landing: String?

    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await ErrorReporting.run {
            let report = try LedgerStatusReport.make(
                ledger: options.open(), landing: LedgerOptions.landing(landing).map { LandingArea(path: $0) })
            if options.json {
                try LedgerOptions.printJSON(StatusDocument(series: report.series))
                return
            }
            var text = ""
            for series in report.series {
                let statuses = FileStatus.allCases.compactMap { status in
                    (series.byStatus[status.rawValue] ?? 0) > 0
                        ? "\(status.rawValue) \(series.byStatus[status.rawValue] ?? 0)" : nil
                }.joined(separator: ", ")
                var line = "\(series.exchange) \(series.market) \(series.symbol) \(series.timeframe.rawValue): "
                line += "\(series.files) files (\(statuses)), \(series.candles) candles"
                if let from = series.coveredFrom, let to = series.coveredTo {
                    line += ", covered [\(ISO8601Instant.format(from)), \(ISO8601Instant.format(to)))"
                }
                line += ", \(series.holes.count) holes (\(series.holeCandles) candles)"
                line += ", \(series.exchangeGaps) exchange gaps (\(series.exchangeGapCandles) candles)"
                line += ", watermark " + (series.watermark.map(ISO8601Instant.format) ?? "none")
                if series.expiredLeases > 0 { line += ", \(series.expiredLeases) expired leases" }
                text += line + "\n"
            }
            if report.series.isEmpty { text = "The ledger has no files.\n" }
            try Output.result(text)
        }
    }
}

/// `ledger status --json`.
struct StatusDocument: Encodable {
    var formatVersion = 1
    var command = "ledger status"
    var series: [LedgerStatusReport.Series]

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case command, series
    }
}
