import ArgumentParser
import BackfillEngine
import BackfillLedger
import BackfillModel
import Foundation

/// `backfill-tool ledger copy --to DEST`: copies the ledger (`--ledger`, `$LEDGER_URL`, `$LEDGER_PATH`) into a new
/// ledger of either backend, SQLite into PostgreSQL and back (§13).
struct LedgerCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy the ledger into a new one: a SQLite file into PostgreSQL, or back.",
        discussion: """
            The destination is created (a SQLite file that does not exist yet, or an empty PostgreSQL database) and \
            filled in one transaction: all of it or nothing. Status histories are replayed through the \
            destination's own triggers; file ids are kept. Run it while no apply writes the source.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp("The new ledger: a SQLite path or a postgresql:// URL.", valueName: "path|url"))
    var to: String

    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await ErrorReporting.run {
            let source = try options.open()
            defer { source.close() }
            guard let destination = try CommandRoot.openLedger(path: to, create: true) else {
                throw LedgerError.cannotOpen(path: LedgerLocation.redacted(to), reason: "could not be created")
            }
            defer { destination.close() }
            guard source.path != destination.path else {
                throw ValidationError("--to is the ledger itself: give another ledger")
            }
            let summary = try source.copy(into: destination)
            if options.json {
                try LedgerOptions.printJSON(CopyDocument(from: source.path, to: destination.path, copied: summary))
                return
            }
            try Output.result(
                "Copied \(source.path) into \(destination.path): \(summary.files) files (\(summary.statusEvents) "
                    + "status events), \(summary.watermarks) watermarks, \(summary.exchangeGaps) exchange gaps, "
                    + "\(summary.markets) markets, \(summary.runs) runs, \(summary.archiveFiles) archive files.\n")
        }
    }
}

/// The JSON document of `ledger copy`.
struct CopyDocument: Encodable {
    var formatVersion = 1
    var command = "ledger copy"
    var from: String
    var to: String
    var copied: LedgerCopySummary

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case command, from, to, copied
    }
}
