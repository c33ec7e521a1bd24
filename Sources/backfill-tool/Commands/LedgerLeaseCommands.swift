import ArgumentParser
import BackfillLedger
import BackfillModel

/// `backfill-tool ledger claim --owner NAME [--limit N] [--lease 10m]`: the oldest `downloaded` files, atomically,
/// with a lease; expired leases are returned first.
struct LedgerClaimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claim", abstract: "Claim the oldest downloaded files with a lease (atomically).")

    @OptionGroup var owner: OwnerOption

    @Option(name: .long, help: "Claim at most this many files.")
    var limit = 1

    @Option(name: .long, help: ArgumentHelp("How long the lease holds (10m, 30s, 1h).", valueName: "duration"))
    var lease = DurationOption(milliseconds: Ledger.defaultLeaseMs)

    @OptionGroup var options: LedgerOptions

    func validate() throws {
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1...100000") }
        guard lease.milliseconds > 0 else { throw ValidationError("--lease must be longer than 0") }
    }

    func run() async throws {
        try await ErrorReporting.run {
            let ledger = try options.open()
            let files = try ledger.claim(owner: owner.owner, limit: limit, leaseMs: lease.milliseconds)
            if options.json {
                try LedgerOptions.printJSON(FilesDocument(command: "ledger claim", files: files))
            } else {
                try Output.result(files.map { $0.line + "\n" }.joined())
                Output.note("claimed \(files.count) files for \(owner.owner)")
            }
        }
    }
}

/// `backfill-tool ledger complete ID… --owner NAME`: `processing → processed`, all or none.
struct LedgerCompleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complete", abstract: "Mark files the owner holds as processed.")

    @Argument(help: "File ids.")
    var ids: [Int64]

    @OptionGroup var owner: OwnerOption
    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await LeaseEnd.run(
            ids: ids, owner: owner.owner, to: .processed, reason: "completed", command: "ledger complete",
            options: options)
    }
}

/// `backfill-tool ledger release ID… --owner NAME`: `processing → downloaded`, all or none.
struct LedgerReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Give files the owner holds back (they become downloaded again).")

    @Argument(help: "File ids.")
    var ids: [Int64]

    @OptionGroup var owner: OwnerOption
    @OptionGroup var options: LedgerOptions

    func run() async throws {
        try await LeaseEnd.run(
            ids: ids, owner: owner.owner, to: .downloaded, reason: "released", command: "ledger release",
            options: options)
    }
}

/// What `complete` and `release` share.
enum LeaseEnd {
    static func run(
        ids: [Int64], owner: String, to next: FileStatus, reason: String, command: String, options: LedgerOptions
    ) async throws {
        try await ErrorReporting.run {
            guard !ids.isEmpty else { throw ValidationError("give at least one file id") }
            let files = try options.open().finishLease(ids: ids, owner: owner, to: next, reason: reason)
            if options.json {
                try LedgerOptions.printJSON(FilesDocument(command: command, files: files))
            } else {
                try Output.result(files.map { $0.line + "\n" }.joined())
            }
        }
    }
}
