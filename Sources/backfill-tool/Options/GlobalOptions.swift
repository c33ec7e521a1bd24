import ArgumentParser

/// Options every command that reads a plan accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Ledger path; overrides the plan's 'ledger'.", valueName: "path"))
    var ledger: String?

    @Option(name: .long, help: ArgumentHelp("Landing directory; overrides the plan's 'landing'.", valueName: "dir"))
    var landing: String?

    @Option(name: .long, help: "Log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevelOption = .warning
}

/// `--log-level` values.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// Hidden options for tests and reproducible plans (like argument-parser's `roll --seed`).
struct DebugOptions: ParsableArguments {
    @Option(name: .customLong("now-ms"), help: .hidden)
    var nowMs: Int64?

    /// Crash tests: pause after each stage of each task so a SIGKILL can land in every stage.
    @Option(name: .customLong("stage-delay-ms"), help: .hidden)
    var stageDelayMs: Int = 0
}
