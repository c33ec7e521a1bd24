import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

struct PlanLoaderTests {
    let loader = PlanLoader(environment: ["HOME_DATA": "/srv/data", "LIMIT": "500"])

    func parse(_ yaml: String) throws -> PlanFile { try loader.parse(yaml, path: "p.yaml") }

    func failure(_ yaml: String) -> String? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func minimalPlanGetsTheDocumentedDefaults() throws {
        let plan = try parse("version: 1\ntargets:\n  - symbols: [BTC/USDT]\n    timeframes: [1m]\n")
        #expect(plan.exchange == .binance)
        #expect(plan.market == .spot)
        #expect(plan.columns == .basic)
        #expect(plan.landing == PlanKeys.defaultLanding)
        #expect(plan.ledger == PlanKeys.defaultLedger)
        #expect(plan.effectiveBaseURL == "https://api.binance.com")
        let pair = try #require(plan.pairs.first)
        #expect(pair.start.value == .earliest)
        #expect(pair.end.value == .now)
        #expect(pair.batchLimit == 1000)
    }

    @Test func futuresDefaultTo499CandlesPerRequest() throws {
        let plan = try parse(
            "version: 1\nmarket: usdm\ntargets:\n  - symbols: [BTC/USDT:USDT]\n    timeframes: [1h]\n")
        #expect(plan.pairs.first?.batchLimit == 499)
        #expect(plan.effectiveBaseURL == "https://fapi.binance.com")
    }

    @Test func targetValuesOverrideDefaultsAndKeepTheirLocations() throws {
        let plan = try parse(
            """
            version: 1
            defaults:
              start: 2020-01-01
              batch_limit: ${LIMIT}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1h, 1d]
              - symbols: [SOL/USDT]
                timeframes: [5m]
                start: -90d
                end: 1700000000000
                batch_limit: 100
            """)
        #expect(plan.pairs.count == 5)
        #expect(plan.pairs[0].start.value == .absolute(utc(2020, 1, 1)))
        #expect(plan.pairs[0].start.location == SourceLocation(file: "p.yaml", line: 3, column: 10))
        #expect(plan.pairs[0].batchLimit == 500)
        #expect(plan.pairs[4].start.value == .relative(-90 * Timeframe.dayMs))
        #expect(plan.pairs[4].end.value == .absolute(1_700_000_000_000))
        #expect(plan.pairs[4].batchLimit == 100)
        #expect(plan.pairs[4].symbol.location.line == 8)
    }

    @Test(arguments: [
        ("earliest", Bound.earliest), ("watermark", .watermark), ("now", .now),
        ("1502942400000", .absolute(1_502_942_400_000)), ("2017-08-17", .absolute(1_502_928_000_000)),
        ("2017-08-17T04:00Z", .absolute(1_502_942_400_000)), ("2017-08-17T04:00:00Z", .absolute(1_502_942_400_000)),
        ("2017-08-17T06:00+02:00", .absolute(1_502_942_400_000)), ("2017-08-17 04:00", .absolute(1_502_942_400_000)),
        ("2017-08-17T04:00:00.250Z", .absolute(1_502_942_400_250)), ("-90d", .relative(-7_776_000_000)),
        ("-12h", .relative(-43_200_000)), ("-30m", .relative(-1_800_000)), ("-2w", .relative(-1_209_600_000)),
        ("-45s", .relative(-45_000)),
    ])
    func boundsParse(text: String, expected: Bound) {
        #expect(Bound.parse(text) == expected)
    }

    @Test(arguments: [
        "yesterday", "2024-02-30", "2023-02-29", "2024-13-01", "24-01-01", "2024-01-01T25:00Z", "-5y", "+5d", "-d",
        "1e12", "2024-01-01T00:00+15:00", "1969-12-31", "99999999999999999", "",
    ])
    func invalidBoundsAreRejected(text: String) {
        #expect(Bound.parse(text) == nil)
    }

    @Test func environmentSubstitution() throws {
        let env = ["A": "x", "EMPTY": ""]
        #expect(try EnvironmentSubstitution.expand("${A}/b", environment: env) == "x/b")
        #expect(try EnvironmentSubstitution.expand("${MISSING:-d}", environment: env) == "d")
        #expect(try EnvironmentSubstitution.expand("${EMPTY:-d}", environment: env) == "d")
        #expect(try EnvironmentSubstitution.expand("$${A}", environment: env) == "${A}")
        #expect(try EnvironmentSubstitution.expand("cost $5", environment: env) == "cost $5")
        #expect(throws: EnvironmentSubstitution.Failure.unset("MISSING")) {
            try EnvironmentSubstitution.expand("${MISSING}", environment: env)
        }
        #expect(throws: EnvironmentSubstitution.Failure.malformed("unterminated '${' in '${A'")) {
            try EnvironmentSubstitution.expand("${A", environment: env)
        }
        let plan = try parse(
            "version: 1\nlanding: ${HOME_DATA}/incoming\ntargets: [{symbols: [BTC/USDT], timeframes: [1m]}]")
        #expect(plan.landing == "/srv/data/incoming")
    }

    @Test func errorsNameFileLineAndColumn() {
        #expect(
            failure("version: 1\ntargets:\n  - symbols: [BTC/USDT]\n    timeframes: [1m]\n    colour: red\n")
                == "p.yaml:5:5: unknown key 'colour' in target (expected one of: symbols, timeframes, start, end, batch_limit)"
        )
        #expect(
            failure("version: 1\ntargets:\n  - symbols: [BTC/USDT]\n    timeframes: [1m, 1m]\n")
                == "p.yaml:4:22: duplicate pair BTC/USDT 1m (already listed at line 4)")
    }

    @Test func everyShippedPlanLoads() throws {
        let env = ["LANDING_DIR": "/tmp/x", "LEDGER_PATH": "/tmp/x.sqlite"]
        let plans = try FileManager.default.contentsOfDirectory(
            atPath: repositoryRoot.appendingPathComponent("plans").path
        ).filter { $0.hasSuffix(".yaml") }
        #expect(plans.count >= 3)
        for name in plans {
            let path = repositoryRoot.appendingPathComponent("plans").appendingPathComponent(name).path
            let plan = try PlanLoader(environment: env).load(path: path)
            #expect(!plan.pairs.isEmpty, "\(name)")
        }
    }
}
