import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

struct PlannerTests {
    static let now = utc(2024, 7, 3, 12, 30)

    func plan(_ yaml: String, snapshot: LedgerSnapshot = .empty, now: Int64 = PlannerTests.now) throws -> Plan {
        let file = try PlanLoader(environment: [:]).parse(yaml, path: "p.yaml")
        let markets = Dictionary(uniqueKeysWithValues: SimulatedExchange().markets(file.market).map { ($0.symbol, $0) })
        return try Planner(plan: file, markets: markets, snapshot: snapshot, nowMs: now).makePlan()
    }

    func yaml(
        _ timeframe: String = "1h", start: String = "2024-01-01", end: String = "2024-03-01", limit: Int = 1000
    )
        -> String
    {
        """
        version: 1
        exchange: simulated
        defaults: {start: \(start), end: \(end), batch_limit: \(limit)}
        targets:
          - symbols: [BTC/USDT]
            timeframes: [\(timeframe)]
        """
    }

    @Test func emptyLedgerPlansTheWholeRangeOnTheChunkGrid() throws {
        let plan = try plan(yaml())
        let tasks = plan.tasks
        // 2024-01-01 … 2024-03-01 is 1440 hours; the 1000-hour chunk grid from the epoch cuts it at 2024-01-28.
        #expect(tasks.reduce(0) { $0 + $1.candles } == 1440)
        #expect(tasks.first?.range.lowerBound == utc(2024, 1, 1))
        #expect(tasks.last?.range.upperBound == utc(2024, 3, 1))
        for task in tasks {
            let chunk = Chunker(grid: Timeframe.h1.grid(listedAtMs: nil), batchLimit: 1000).chunk(
                containing: task.range.lowerBound)
            #expect(chunk.lowerBound % (1000 * Timeframe.hourMs) == 0)
            #expect(task.range.upperBound <= chunk.upperBound)
            #expect(task.candles <= 1000)
            #expect(
                task.path
                    == "simulated/spot/BTCUSDT/1h/BTCUSDT__1h__\(task.range.lowerBound)_\(task.range.upperBound).csv")
        }
        for (a, b) in zip(tasks, tasks.dropFirst()) { #expect(a.range.upperBound == b.range.lowerBound) }
    }

    @Test func sameInputsSameTasks() throws {
        #expect(try plan(yaml("1m", limit: 777)) == plan(yaml("1m", limit: 777)))
    }

    @Test func neverPlansTheOpenCandle() throws {
        let plan = try plan(yaml("1d", start: "-10d", end: "now"))
        let last = try #require(plan.tasks.last)
        #expect(last.range.upperBound == utc(2024, 7, 3))
        #expect(last.range.upperBound <= Self.now)
        let monthly = try self.plan(yaml("1M", start: "2024-01-01", end: "now"))
        #expect(monthly.tasks.last?.range.upperBound == utc(2024, 7, 1))
        #expect(monthly.tasks.reduce(0) { $0 + $1.candles } == 6)
    }

    @Test func coverageOfAnyStatusAndConfirmedGapsIsSubtracted() throws {
        let pair = Pair(symbol: "BTC/USDT", timeframe: .h1)
        var snapshot = LedgerSnapshot(generation: 7, exists: true)
        snapshot.pairs[pair] = PairCoverage(
            files: RangeSet([
                TimeRange(uncheckedLower: utc(2024, 1, 1), upper: utc(2024, 1, 10)),
                TimeRange(uncheckedLower: utc(2024, 2, 1), upper: utc(2024, 3, 1)),
            ]),
            gaps: RangeSet([TimeRange(uncheckedLower: utc(2024, 1, 20), upper: utc(2024, 1, 21))]),
            fileCount: 2, watermark: utc(2024, 1, 10))
        let plan = try plan(yaml(), snapshot: snapshot)
        #expect(plan.ledgerGeneration == 7)
        let missing = RangeSet(plan.tasks.map(\.range))
        #expect(
            missing.runs == [
                TimeRange(uncheckedLower: utc(2024, 1, 10), upper: utc(2024, 1, 20)),
                TimeRange(uncheckedLower: utc(2024, 1, 21), upper: utc(2024, 2, 1)),
            ])
        #expect(plan.pairs[0].coveredCandles == 1440 - 10 * 24 - 11 * 24)
        // A hole splits a chunk, never the grid: task boundaries are chunk boundaries or hole boundaries.
        let chunker = Chunker(grid: Timeframe.h1.grid(listedAtMs: nil), batchLimit: 1000)
        for task in plan.tasks {
            #expect(chunker.chunk(containing: task.range.lowerBound).upperBound >= task.range.upperBound)
        }
    }

    @Test func fullCoverageMeansNoChanges() throws {
        let pair = Pair(symbol: "BTC/USDT", timeframe: .h1)
        var snapshot = LedgerSnapshot(exists: true)
        snapshot.pairs[pair] = PairCoverage(
            files: RangeSet([TimeRange(uncheckedLower: utc(2023, 1, 1), upper: utc(2024, 6, 1))]))
        let plan = try plan(yaml(), snapshot: snapshot)
        #expect(plan.tasks.isEmpty)
        #expect(!plan.hasChanges)
        #expect(PlanRenderer.text(plan) == "No changes. Coverage is complete.\n")
    }

    @Test func earliestStartsAtTheListingAndWatermarkResumes() throws {
        let earliest = try plan(yaml("1h", start: "earliest", end: "2017-08-18"))
        #expect(earliest.tasks.first?.range.lowerBound == 1_502_942_400_000)
        #expect(earliest.tasks.reduce(0) { $0 + $1.candles } == 20)
        // A start before the listing is clamped to it: nothing is planned where the exchange has nothing.
        let early = try plan(yaml("1h", start: "2010-01-01", end: "2017-08-18"))
        #expect(early.tasks == earliest.tasks)
        let pair = Pair(symbol: "BTC/USDT", timeframe: .h1)
        var snapshot = LedgerSnapshot(exists: true)
        snapshot.pairs[pair] = PairCoverage(watermark: utc(2024, 2, 1))
        let resumed = try plan(yaml("1h", start: "watermark"), snapshot: snapshot)
        #expect(resumed.tasks.first?.range.lowerBound == utc(2024, 2, 1))
        let fresh = try plan(yaml("1h", start: "watermark", end: "2017-08-18"))
        #expect(fresh.tasks == earliest.tasks)
    }

    @Test func futureStartPlansNothing() throws {
        let plan = try plan(yaml("1h", start: "2030-01-01", end: "2031-01-01"))
        #expect(plan.tasks.isEmpty)
        #expect(plan.pairs[0].desired == nil)
    }

    @Test func unknownSymbolNamesTheNearestKnownOnes() {
        let text = """
            version: 1
            exchange: simulated
            targets:
              - symbols: [BTC/USDC]
                timeframes: [1h]
            """
        #expect(
            throws: PlanFileError(
                at: SourceLocation(file: "p.yaml", line: 4, column: 15),
                "unknown symbol 'BTC/USDC' on this exchange (nearest: BTC/USDT, BNB/USDT, ETH/USDT)")
        ) {
            try plan(text)
        }
    }

    @Test func summaryCountsChunksCandlesRequestsAndWeight() throws {
        let spot = try plan(yaml("1h"))
        #expect(spot.summary == PlanSummary(chunks: 2, candles: 1440, requests: 2, weight: 4, duplicates: 0, drift: 0))
        #expect(spot.tasks.map(\.range.upperBound) == [utc(2024, 1, 28), utc(2024, 3, 1)])
        let futures = try plan(
            """
            version: 1
            exchange: simulated
            market: usdm
            defaults: {start: 2024-01-01, end: 2024-03-01}
            targets:
              - symbols: [BTC/USDT:USDT]
                timeframes: [1h]
            """)
        // 499-candle chunks weigh 2 each (5 for 500…1000): futures pay the least per candle at 499.
        #expect(futures.tasks.allSatisfy { $0.candles <= 499 })
        let small = Int64(futures.tasks.filter { $0.candles < 100 }.count)
        let expectedWeight = Int64(futures.summary.requests) * 2 - small
        #expect(futures.summary.weight == expectedWeight)
        #expect(
            PlanRenderer.summaryLine(spot.summary)
                == "Plan: 2 chunks to fetch (1440 candles, ~2 requests, ~4 weight), 0 duplicates to delete, 0 drift findings."
        )
    }

    @Test(arguments: Timeframe.allCases)
    func tasksTileTheDesiredRangeOnEveryTimeframe(timeframe: Timeframe) throws {
        let long = timeframe.nominalDurationMs >= Timeframe.dayMs
        let plan = try plan(
            yaml(timeframe.rawValue, start: long ? "2021-01-01" : "2024-01-01", end: "2024-01-03", limit: 7))
        let pairPlan = plan.pairs[0]
        let desired = try #require(pairPlan.desired)
        #expect(plan.tasks.reduce(0) { $0 + $1.candles } == pairPlan.desiredCandles)
        #expect(RangeSet(plan.tasks.map(\.range)) == RangeSet([desired]).subtracting(RangeSet()))
        #expect(plan.tasks.allSatisfy { $0.candles <= 7 && $0.candles > 0 })
    }
}
