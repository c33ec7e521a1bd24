import ArgumentParser
import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `backfill-tool audit PLAN.yaml`: proves what is there; changes nothing.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Compare plan, ledger, landing area and (optionally) the exchange; report every finding.",
        discussion: """
            Changes nothing. Exit 0 when clean (confirmed exchange gaps are information), 2 when there are findings, \
            1 on error.
            """
    )

    @Argument(help: "The plan file (YAML).")
    var planPath: String

    @Flag(name: .long, help: "Hash every registered file and check its candles (slower: reads every file).")
    var deep = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Re-fetch N registered files from the exchange and compare bytes (rate-governed).", valueName: "N"))
    var verifyRemote: Int = 0

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    @OptionGroup var global: GlobalOptions
    @OptionGroup(visibility: .hidden) var debug: DebugOptions

    func validate() throws {
        guard verifyRemote >= 0 else { throw ValidationError("--verify-remote must be 0 or more") }
    }

    func run() async throws {
        let report = try await ErrorReporting.run { () async throws -> AuditReport in
            let environment = ProcessInfo.processInfo.environment
            let loaded = try LoadedPlan.load(
                path: planPath, environment: environment, ledger: global.ledger, landing: global.landing)
            var session = AuditSession(loaded: loaded, frozenNowMs: debug.nowMs, apiKey: environment["API_KEY"])
            session.logger = Bootstrap.logger(global.logLevel)
            session.deep = deep
            session.verifyRemote = verifyRemote
            let report = try await session.run()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try Output.result(try encoder.encode(AuditDocument(report: report)) + Data("\n".utf8))
            } else {
                try Output.result(report.text)
            }
            return report
        }
        if !report.isClean { throw ExitCode(2) }
    }
}

/// `audit --json`.
struct AuditDocument: Encodable {
    var formatVersion = 1
    var command = "audit"
    var clean: Bool
    var report: AuditReport

    init(report: AuditReport) {
        clean = report.isClean
        self.report = report
    }

    enum CodingKeys: String, CodingKey {
        case command, clean, report
        case formatVersion = "format_version"
    }
}
