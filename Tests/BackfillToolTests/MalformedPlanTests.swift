import BackfillTestSupport
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Malformed plan files (Fixtures/malformed): each must fail `validate` and `plan` with exactly this one-line
/// message and exit 64, and leave the directory (including an existing ledger) exactly as it was.
struct MalformedPlanTests {
    static let cases: [(String, String)] = [
        (
            "01-unknown-top-key.yaml",
            "01-unknown-top-key.yaml:5:1: unknown key 'landingg' in plan; did you mean 'landing'?"
        ),
        (
            "02-unknown-target-key.yaml",
            "02-unknown-target-key.yaml:6:5: unknown key 'symbol' in target; did you mean 'symbols'?"
        ),
        ("03-missing-version.yaml", "03-missing-version.yaml:1:1: missing required key 'version' in plan"),
        ("04-version-2.yaml", "04-version-2.yaml:1:10: unsupported plan version 2 (this tool reads version 1)"),
        ("05-version-not-integer.yaml", "05-version-not-integer.yaml:1:10: 'version' must be an integer, found 'one'"),
        (
            "06-unknown-exchange.yaml",
            "06-unknown-exchange.yaml:2:11: unknown exchange 'kraken' (expected binance or simulated)"
        ),
        (
            "07-unknown-market.yaml",
            "07-unknown-market.yaml:3:9: unknown market 'margin' (expected spot, usdm or coinm)"
        ),
        (
            "08-unknown-timeframe.yaml",
            "08-unknown-timeframe.yaml:7:22: unknown timeframe '2m' (expected one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M)"
        ),
        (
            "09-one-second-on-futures.yaml",
            "09-one-second-on-futures.yaml:8:18: timeframe 1s exists on spot only, not on market usdm"
        ),
        (
            "10-start-after-end.yaml",
            "10-start-after-end.yaml:6:10: start 2024-02-01T00:00Z is not before end 2024-01-01T00:00Z"
        ),
        (
            "11-batch-limit-too-big.yaml",
            "11-batch-limit-too-big.yaml:6:16: batch_limit 1001 is out of range for market spot (1...1000)"
        ),
        (
            "12-batch-limit-zero-in-target.yaml",
            "12-batch-limit-zero-in-target.yaml:8:18: batch_limit 0 is out of range for market spot (1...1000)"
        ),
        (
            "13-batch-limit-not-integer.yaml",
            "13-batch-limit-not-integer.yaml:6:16: 'batch_limit' must be an integer, found 'lots'"
        ),
        (
            "14-duplicate-pair-across-targets.yaml",
            "14-duplicate-pair-across-targets.yaml:8:15: duplicate pair ETH/USDT 1d (already listed at line 6)"
        ),
        ("15-symbols-not-a-list.yaml", "15-symbols-not-a-list.yaml:6:14: 'symbols' must be a list, found 'BTC/USDT'"),
        ("16-empty-targets.yaml", "16-empty-targets.yaml:5:10: 'targets' is empty: list at least one target"),
        (
            "17-lowercase-symbol.yaml",
            "17-lowercase-symbol.yaml:6:15: invalid symbol 'btc/usdt' (expected a unified symbol like BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC)"
        ),
        (
            "18-path-like-symbol.yaml",
            "18-path-like-symbol.yaml:6:15: invalid symbol '../../ETC/USDT' (expected a unified symbol like BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC)"
        ),
        (
            "19-futures-symbol-on-spot.yaml",
            "19-futures-symbol-on-spot.yaml:6:15: symbol 'BTC/USDT:USDT' is a futures symbol but market is spot"
        ),
        (
            "20-unset-environment-variable.yaml",
            "20-unset-environment-variable.yaml:3:10: environment variable 'BACKFILL_TEST_UNSET_VARIABLE' is not set (used by 'landing')"
        ),
        ("21-invalid-yaml.yaml", "21-invalid-yaml.yaml:7:15: invalid YAML: did not find expected ',' or ']'"),
        ("22-duplicate-key.yaml", "22-duplicate-key.yaml:3:1: key 'market' is defined more than once"),
        (
            "23-unparsable-start.yaml",
            "23-unparsable-start.yaml:6:10: invalid start 'yesterday' (expected earliest, watermark, now, an ISO-8601 date, epoch milliseconds or a relative offset like -90d)"
        ),
        (
            "24-end-earliest.yaml",
            "24-end-earliest.yaml:6:8: end cannot be 'earliest' (use now, a date, epoch milliseconds or a relative offset)"
        ),
        (
            "25-impossible-date.yaml",
            "25-impossible-date.yaml:8:12: invalid start '2024-02-30' (expected earliest, watermark, now, an ISO-8601 date, epoch milliseconds or a relative offset like -90d)"
        ),
        (
            "26-base-url-on-simulated.yaml",
            "26-base-url-on-simulated.yaml:3:11: base_url has no meaning with exchange: simulated"
        ),
        (
            "27-base-url-not-http.yaml",
            "27-base-url-not-http.yaml:3:11: base_url 'ftp://example.invalid/api' is not an http:// or https:// URL with a host"
        ),
        ("28-negative-sleep.yaml", "28-negative-sleep.yaml:6:13: sleep_ms -5 is out of range (0...600000)"),
        ("29-root-is-a-list.yaml", "29-root-is-a-list.yaml:1:1: plan must be a mapping, found a list"),
        ("30-empty-file.yaml", "30-empty-file.yaml:1:1: plan file is empty"),
        (
            "31-unknown-symbol.yaml",
            "31-unknown-symbol.yaml:6:15: unknown symbol 'BTC/USDC' on this exchange (nearest: BTC/USDT, BNB/USDT, ETH/USDT)"
        ),
        (
            "32-targets-not-mappings.yaml",
            "32-targets-not-mappings.yaml:6:5: target must be a mapping, found 'BTC/USDT'"
        ),
        (
            "33-tab-indentation.yaml",
            "33-tab-indentation.yaml:6:1: invalid YAML: found character that cannot start any token"
        ),
        (
            "34-unknown-archive-mode.yaml",
            "34-unknown-archive-mode.yaml:3:10: unknown archive 'sometimes' (expected auto, off or only)"
        ),
        (
            "35-archive-with-simulated.yaml",
            "35-archive-with-simulated.yaml:3:10: archive has no meaning with exchange: simulated"
        ),
        (
            "36-archive-url-not-http.yaml",
            "36-archive-url-not-http.yaml:3:14: archive_url 'ftp://data.binance.vision' is not an http:// or https:// URL with a host"
        ),
    ]

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/malformed")

    @Test func atLeastTwentyCases() async throws {
        #expect(Self.cases.count >= 20)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter {
            $0.hasSuffix(".yaml")
        }
        #expect(Set(files) == Set(Self.cases.map(\.0)), "every fixture has an expected message")
    }

    @Test(arguments: cases)
    func rejectedWithExactMessageAndNoTrace(name: String, message: String) async throws {
        let dir = try TemporaryDirectory("malformed")
        let yaml = try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
        try dir.write(yaml, to: name)
        let tool = ToolRunner()
        let before = try dir.inventory()
        for arguments in [["validate", name], ["plan", name], ["plan", name, "--json", "--detailed-exitcode"]] {
            let result = try await tool.run(arguments, in: dir.path)
            #expect(result.exitCode == 64, "\(arguments)")
            #expect(result.stderr == "error: \(message)\n", "\(arguments)")
            #expect(result.stdout.isEmpty, "\(arguments)")
            #expect(try dir.inventory() == before, "\(arguments) left a trace")
        }
        // With a ledger already there, it stays byte-for-byte the same.
        do { _ = try Ledger.open(path: dir.path("out/ledger.sqlite"), create: true) }
        let withLedger = try dir.inventory()
        #expect(withLedger.keys.contains("/out/ledger.sqlite"))
        let result = try await tool.run(["plan", name, "--detailed-exitcode"], in: dir.path)
        #expect(result.exitCode == 64)
        #expect(try dir.inventory() == withLedger, "plan changed the existing ledger")
    }
}
