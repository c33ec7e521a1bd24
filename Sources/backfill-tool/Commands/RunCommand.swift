import ArgumentParser
import BackfillEngine
import BackfillModel
import BackfillSpec
import Foundation

/// `backfill-tool run`: the seed's one-shot job (§10), configured by environment — the default command of the
/// container. It builds the plan the knobs describe (or loads `PLAN_FILE`), applies it and exits.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The one-shot backfill job of the ccxt job it replaces, configured by environment variables.",
        discussion: """
            SYMBOLS (BTC/USDT,ETH/USDT), TIMEFRAME (1m or 1m,1h), START_TS (ms; 0 = watermark or earliest), \
            END_TS (ms; 0 = now), BATCH_LIMIT, SLEEP_MS, MARKET (spot, usdm, coinm), LANDING_DIR (/data/incoming), \
            LEDGER_PATH (/data/manifest.sqlite), BINANCE_BASE_URL; or PLAN_FILE alone. API_KEY / API_SECRET are \
            accepted and never shown. A bad value exits 64 naming the variable, before anything is created.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await ErrorReporting.run {
            let environment = ProcessInfo.processInfo.environment
            let loaded: LoadedPlan
            do {
                switch try RunEnvironment.job(environment) {
                case .planFile(let path):
                    loaded = try LoadedPlan.load(
                        path: path, environment: environment, ledger: global.ledger, landing: global.landing)
                case .plan(var plan):
                    if let ledger = global.ledger { plan.file.ledger = ledger }
                    if let landing = global.landing { plan.file.landing = landing }
                    loaded = plan
                }
            } catch let failure as RunEnvironment.Failure {
                throw ValidationError(failure.description)
            }
            var session = ApplySession(
                loaded: loaded, frozenNowMs: nil, parallelism: nil, apiKey: environment["API_KEY"])
            session.stageDelayMs = TestHooks.stageDelayMs(environment)
            session.taskLeaseMs = try TaskLeaseSetting.leaseMs(environment)
            session.logger = Bootstrap.logger(global.logLevel)
            let stop = StopSignals.install()
            session.shouldStop = { stop.requested }
            // Container logs: plain progress lines unless stderr is a terminal.
            let display = ProgressDisplay(progress: session.progress, mode: .auto)
            let ticker = display.start()
            let summary: ApplySummary?
            do {
                summary = try await session.run(dryRun: false).summary
                ticker.cancel()
                await ticker.value
                display.finish()
            } catch {
                ticker.cancel()
                await ticker.value
                throw error
            }
            guard let summary else { return }
            try Output.result(summary.text + "\n")
            if summary.interrupted { throw ErrorReporting.temporary }
            guard summary.failedPairs.isEmpty else {
                for failure in summary.failedPairs { Output.error("\(failure.pair) stopped: \(failure.error)") }
                throw ExitCode.failure
            }
        }
    }
}
