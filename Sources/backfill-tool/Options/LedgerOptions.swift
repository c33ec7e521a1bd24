import ArgumentParser
import BackfillEngine
import BackfillLedger
import BackfillModel
import Foundation

/// What every `ledger …` subcommand takes: the ledger (default `$LEDGER_URL`, then `$LEDGER_PATH`, as `run` reads
/// them) and `--json`.
struct LedgerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger: a SQLite file or a postgresql:// URL; default: $LEDGER_URL, else $LEDGER_PATH.",
            valueName: "path|url"))
    var ledger: String?

    @Flag(name: .long, help: "Print one JSON document on stdout.")
    var json = false

    /// The ledger path asked for.
    func ledgerPath() throws -> String {
        if let ledger, !ledger.isEmpty { return ledger }
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["LEDGER_URL"], !url.isEmpty { return url }
        if let path = environment["LEDGER_PATH"], !path.isEmpty { return path }
        throw ValidationError("give --ledger PATH|URL (or set LEDGER_URL or LEDGER_PATH)")
    }

    /// Opens the existing ledger (`create`: or a new one).
    func open(create: Bool = false) throws -> Ledger {
        let path = try ledgerPath()
        guard let opened = try CommandRoot.openLedger(path: path, create: create) else {
            throw LedgerError.cannotOpen(
                path: LedgerLocation.redacted(path),
                reason: LedgerLocation.isPostgresURL(path) ? "the database holds no ledger" : "no such file")
        }
        return opened
    }

    /// The landing directory: `--landing`, else `$LANDING_DIR`, else nil.
    static func landing(_ option: String?) -> String? {
        if let option, !option.isEmpty { return option }
        if let path = ProcessInfo.processInfo.environment["LANDING_DIR"], !path.isEmpty { return path }
        return nil
    }

    /// Writes one JSON document (`format_version` 1 and `command` first among sorted keys' peers) on stdout.
    static func printJSON(_ document: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Output.result(try encoder.encode(document) + Data("\n".utf8))
    }
}

/// `--owner NAME`: who holds a lease (recorded as `lease_owner` and `updated_by`).
struct OwnerOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Who holds the lease (e.g. the scheduler's name).", valueName: "name"))
    var owner: String

    func validate() throws {
        guard !owner.isEmpty, owner.count <= 200,
            !owner.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 32 } == true })
        else { throw ValidationError("--owner must be 1 to 200 printable characters") }
    }
}

/// The JSON document of a command that lists files.
struct FilesDocument: Encodable {
    var formatVersion = 1
    var command: String
    var files: [LedgerFile]
    var expired: Int?

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case command, files, expired
    }
}

extension LedgerFile {
    /// One line per file: `id status symbol tf [start, end) rows path (lease)`.
    var line: String {
        var text =
            "\(id)\t\(status.rawValue)\t\(symbol)\t\(timeframe.rawValue)\t[\(tStart), \(tEnd))\t\(rows) rows\t\(path)"
        if let leaseOwner, let leaseExpiresAt { text += "\tleased to \(leaseOwner) until \(leaseExpiresAt)" }
        return text
    }
}
