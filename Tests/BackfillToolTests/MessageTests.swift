import BackfillTestSupport
import Foundation
import Testing

/// Issue 13 point 12: one error is one line. Echoed values are escaped (a newline or ESC in a symbol cannot fake a
/// second `error:` line) and cut at 200 characters; an empty `--landing`/`--ledger` is refused; a result that cannot
/// be written to stdout (closed, full) is exit 1 with a message, never a crash.
@Suite(.serialized)
struct MessageTests {
    let tool = ToolRunner()

    static func plan(symbol: String) -> String {
        """
        version: 1
        exchange: simulated
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: -1d, end: now}
        targets:
          - symbols: ["\(symbol)"]
            timeframes: [1h]
        """
    }

    @Test func echoedValuesAreEscapedAndCut() async throws {
        let dir = try TemporaryDirectory("messages")
        try dir.write(Self.plan(symbol: #"BT\nerror: fake\u001b[31m/USDT"#), to: "control.yaml")
        try dir.write(Self.plan(symbol: String(repeating: "A", count: 100_000) + "/USDT"), to: "huge.yaml")
        let before = try dir.inventory()
        let control = try await tool.run(["plan", "control.yaml"], in: dir.path)
        #expect(control.exitCode == 64)
        #expect(control.stderr.split(separator: "\n").count == 1, "\(control.stderr)")
        #expect(control.stderr.contains(#"'BT\nerror: fake\u{1B}[31m/USDT'"#), "\(control.stderr)")
        #expect(!control.stderr.contains("\u{1B}"))
        let huge = try await tool.run(["plan", "huge.yaml"], in: dir.path)
        #expect(huge.exitCode == 64)
        #expect(huge.stderr.split(separator: "\n").count == 1)
        #expect(huge.stderr.utf8.count < 600, "\(huge.stderr.utf8.count) bytes")
        #expect(huge.stderr.contains(String(repeating: "A", count: 150) + "…"), "\(huge.stderr)")
        #expect(try dir.inventory() == before)
    }

    @Test func emptyPathsAreRefused() async throws {
        let dir = try TemporaryDirectory("empty-paths")
        try dir.write(Self.plan(symbol: "BTC/USDT"), to: "plan.yaml")
        let before = try dir.inventory()
        for (arguments, option) in [
            (["plan", "plan.yaml", "--landing", ""], "--landing"),
            (["apply", "plan.yaml", "--landing", ""], "--landing"),
            (["audit", "plan.yaml", "--landing", ""], "--landing"),
            (["apply", "plan.yaml", "--ledger", ""], "--ledger"),
        ] {
            let result = try await tool.run(arguments, in: dir.path)
            #expect(result.exitCode == 64, "\(arguments)")
            #expect(result.stderr.hasPrefix("Error: \(option) must name a"), "\(result.stderr)")
        }
        #expect(try dir.inventory() == before, "nothing created in the current directory")
    }

    /// `plan --json` into a closed stdout and into a full device (`/dev/full`), run through a shell.
    @Test(arguments: [">&-", "> /dev/full"])
    func aResultThatCannotBeWrittenIsExitOne(redirect: String) async throws {
        let dir = try TemporaryDirectory("stdout")
        try dir.write(Self.plan(symbol: "BTC/USDT"), to: "plan.yaml")
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "\"$0\" plan plan.yaml --json \(redirect)", tool.executable.path]
        shell.currentDirectoryURL = dir.url
        shell.environment = tool.environment
        let err = Pipe()
        shell.standardError = err
        try shell.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 1, "\(stderr)")
        #expect(stderr.hasPrefix("error: cannot write the result to stdout: "), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1)
    }

    /// A landing area that cannot be used is refused before anything is created: no new ledger is left behind, and
    /// the message says what is in the way (not `NSCocoaErrorDomain error 512`).
    @Test(arguments: ["plan.yaml", "plan.yaml/below", "blocked"])
    func aRefusedLandingAreaLeavesNoNewLedger(landing: String) async throws {
        let dir = try TemporaryDirectory("refused-landing")
        try dir.write(Self.plan(symbol: "BTC/USDT"), to: "plan.yaml")
        // `blocked`: a directory whose exchange level is a file.
        try dir.write("", to: "blocked/simulated")
        let before = StateDump.files(dir.path)
        let run = try await tool.run(["apply", "plan.yaml", "--landing", landing], in: dir.path)
        #expect(run.exitCode == 1)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains("is a file, not a directory"), "\(run.stderr)")
        #expect(!run.stderr.contains("NSCocoaErrorDomain"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("manifest.sqlite")))
        #expect(StateDump.files(dir.path) == before)
    }
}
