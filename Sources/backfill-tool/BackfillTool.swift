import ArgumentParser
import CAllocator
import Foundation

/// The `backfill-tool` command: keeps a landing area of Binance candles complete, exactly once.
@main
struct BackfillTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill-tool",
        abstract: "Keep a landing area of historical Binance OHLCV candles complete, exactly once.",
        discussion: """
            Exit codes: 0 success or nothing to do, 2 changes pending (plan --detailed-exitcode), 1 error, \
            64 usage error (bad flag or plan file), 75 temporary failure (safe to retry later).
            """,
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, PlanCommand.self, ApplyCommand.self, AuditCommand.self, RunCommand.self,
            LedgerCommand.self,
        ]
    )

    /// A reader that went away (`| head`) is a failed write to stdout (exit 1), not a SIGPIPE death.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        // Archive periods come and go as buffers of megabytes: served by mmap, each goes back to the system when
        // freed (ArchiveMemoryTests: without it, peak RSS grew with the months read).
        backfill_fix_mmap_threshold(1 << 20)
        Output.guardStandardDescriptors()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // Help and version are printed whole; a usage error is one line (§11), its usage summary left to
            // --help: argument-parser's message lines are joined, and echoed values escaped and cut.
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let lines = message(for: error).split(whereSeparator: \.isNewline).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            let text = lines.filter { !$0.isEmpty }.joined(separator: " ")
            // An exit code thrown after the message was printed (ErrorReporting) carries no text of its own.
            guard !text.isEmpty else { Foundation.exit(code.rawValue) }
            FileHandle.standardError.write(Data("Error: \(Output.oneLine(text)) (see --help)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
