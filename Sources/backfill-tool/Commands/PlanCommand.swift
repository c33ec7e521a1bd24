import ArgumentParser
import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `backfill-tool plan PLAN.yaml`: shows the chunk tasks missing from the ledger.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show which chunks are missing from the ledger (and what apply would repair).",
        discussion: """
            Asks the exchange only for its clock (and, once per pair ever, the listing time, cached in an existing \
            ledger). Never creates the ledger or the landing directory.
            """
    )

    @Argument(help: "The plan file (YAML).")
    var planPath: String

    @Option(name: .long, help: ArgumentHelp("Save the plan as JSON for 'apply --plan-file'.", valueName: "file"))
    var out: String?

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    @Flag(name: .long, help: "Exit 2 when there are changes to apply, 0 when there are none.")
    var detailedExitcode = false

    @OptionGroup var global: GlobalOptions
    @OptionGroup(visibility: .hidden) var debug: DebugOptions

    func run() async throws {
        let hasChanges = try await ErrorReporting.run { () async throws -> Bool in
            // Refused before anything is asked or read.
            if let out, let refusal = OutputFile.refusal(out) { throw ValidationError(refusal) }
            let loaded = try LoadedPlan.load(
                path: planPath, environment: ProcessInfo.processInfo.environment, ledger: global.ledger,
                landing: global.landing)
            let root = CommandRoot.make(
                config: PlanDocument.Config(loaded.file), createLedger: false, frozenNowMs: debug.nowMs,
                apiKey: ProcessInfo.processInfo.environment["API_KEY"], logger: Bootstrap.logger(global.logLevel))
            let source = root.exchange.markets
            var session = PlanningSession(plan: loaded.file, planSHA256: loaded.sha256, root: root)
            session.reportsDrift = true
            let plan: Plan
            do {
                plan = try await session.run()
                await source.close()
            } catch {
                await source.close()
                throw error
            }
            if let out {
                let document = PlanDocument(
                    plan: plan, planFile: loaded.file, planFileSHA256: loaded.sha256, absolutePaths: true)
                try OutputFile.write(try document.encoded(), to: out)
            }
            if json {
                let document = PlanDocument(
                    plan: plan, planFile: loaded.file, planFileSHA256: loaded.sha256, absolutePaths: false)
                try Output.result(try document.encoded())
            } else {
                try Output.result(PlanRenderer.text(plan))
                if let out { Output.note("Saved plan to \(out).") }
            }
            if let files = plan.landingNotScanned {
                Output.note(
                    "The landing area was not scanned for drift (\(files) registered files, more than "
                        + "\(PlanningSession.driftScanLimit)); run 'backfill-tool audit' for the full check.")
            }
            return plan.hasChanges
        }
        if detailedExitcode && hasChanges { throw ExitCode(2) }
    }
}

/// A one-line error raised by the command layer itself.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
