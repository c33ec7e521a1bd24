import ArgumentParser
import BackfillLedger
import BackfillModel

/// `backfill-tool ledger files [--status S] [--pair SYMBOL:TF]`: registered files, oldest first.
struct LedgerFilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files", abstract: "List registered files, oldest first.")

    @Option(name: .long, help: "Only files with this status (downloaded, processing, processed, deleted).")
    var status: FileStatus?

    @Option(name: .long, help: ArgumentHelp("Only this pair, e.g. BTC/USDT:1m.", valueName: "symbol:tf"))
    var pair: PairOption?

    @Option(name: .long, help: "At most this many files.")
    var limit: Int?

    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await ErrorReporting.run {
            let files = try options.open().files(
                FileFilter(status: status, symbol: pair?.symbol, timeframe: pair?.timeframe, limit: limit))
            if options.json {
                try LedgerOptions.printJSON(FilesDocument(command: "ledger files", files: files))
            } else {
                try Output.result(files.map { $0.line + "\n" }.joined())
                Output.note("\(files.count) files")
            }
        }
    }
}

extension FileStatus: ExpressibleByArgument {}

/// `SYMBOL:TF`: the timeframe is the part after the last colon (unified futures symbols hold colons too).
struct PairOption: ExpressibleByArgument {
    var symbol: String
    var timeframe: Timeframe

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"),
            let timeframe = Timeframe(rawValue: String(argument[argument.index(after: colon)...]))
        else { return nil }
        symbol = String(argument[..<colon])
        self.timeframe = timeframe
        guard !symbol.isEmpty else { return nil }
    }
}
