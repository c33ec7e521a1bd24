import ArgumentParser
import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation

/// `backfill-tool validate PLAN.yaml`: checks a plan file without touching the network, ledger or landing area.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a plan file (syntax, keys, types, rules) without touching the network, ledger or disk."
    )

    @Argument(help: "The plan file (YAML).")
    var planPath: String

    func run() async throws {
        try await ErrorReporting.run {
            let loaded = try LoadedPlan.load(path: planPath, environment: ProcessInfo.processInfo.environment)
            let plan = loaded.file
            if plan.exchange == .simulated {
                // The simulated market is known offline, so its symbols can be checked too.
                let markets = Dictionary(
                    SimulatedExchange().markets(plan.market).map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
                for pair in plan.pairs { _ = try Planner.resolve(pair.symbol, in: markets) }
            }
            let pairs = plan.pairs.count
            try Output.result(
                "\(planPath): valid (\(plan.targets.count) target\(plan.targets.count == 1 ? "" : "s"), "
                    + "\(pairs) pair\(pairs == 1 ? "" : "s"))\n")
        }
    }
}
