import ArgumentParser
import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `backfill-tool ledger …`: the consumer side of the ledger (§6.4).
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Inspect and maintain the ledger.",
        subcommands: [
            LedgerStatusCommand.self, LedgerFilesCommand.self, LedgerRegisterCommand.self, LedgerClaimCommand.self,
            LedgerCompleteCommand.self, LedgerReleaseCommand.self, LedgerImportLegacyCommand.self,
            LedgerCopyCommand.self,
            UnlockCommand.self,
        ]
    )
}

/// `backfill-tool ledger unlock --ledger PATH`: breaks the apply lock of a process that is gone.
struct UnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Break the apply lock left by a process that is gone."
    )

    @Option(name: .long, help: ArgumentHelp("The ledger (manifest.sqlite).", valueName: "path"))
    var ledger: String

    @Flag(name: .long, help: "Print one JSON document on stdout.")
    var json = false

    @Flag(name: .long, help: "Break the lock even while its holder looks alive.")
    var force = false

    func run() async throws {
        try await ErrorReporting.run {
            guard let opened = try CommandRoot.openLedger(path: ledger, create: false) else {
                throw LedgerError.cannotOpen(path: LedgerLocation.redacted(ledger), reason: "no such file")
            }
            let holder = try opened.breakLock(force: force)
            if json {
                var document: [String: Any] = [
                    "format_version": 1, "command": "ledger unlock", "unlocked": holder != nil,
                ]
                if let holder { document["holder"] = ["owner": holder.owner, "pid": holder.pid, "host": holder.host] }
                let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
                try Output.result(data + Data("\n".utf8))
            } else {
                try Output.result(
                    holder.map { "Unlocked: removed the lock held by \($0).\n" } ?? "The ledger was not locked.\n")
            }
        }
    }
}
