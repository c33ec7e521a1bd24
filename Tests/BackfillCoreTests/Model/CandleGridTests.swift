import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Binance's 3d candles are cut per symbol, from 00:00 UTC of its first trading day (`binance-api.md` §6): raw
/// `/api/v3/klines` 3d data gives these first opens and later boundaries.
struct CandleGridTests {
    /// (first candle of the symbol on any timeframe, its first 3d open, later 3d opens).
    static let threeDay: [(String, Int64, Int64, [Int64])] = [
        ("BTCUSDT", 1_502_942_400_000, 1_502_928_000_000, [utc(2020, 1, 1), utc(2025, 1, 1)]),
        ("XRPUSDT", utc(2018, 5, 4, 8), 1_525_392_000_000, [utc(2020, 1, 3), utc(2025, 1, 3)]),
        ("LINKUSDT", utc(2019, 1, 16, 4), 1_547_596_800_000, [utc(2020, 1, 2)]),
        ("SOLUSDT", utc(2020, 8, 11, 6), 1_597_104_000_000, []),
        ("DOTUSDT", utc(2020, 8, 18, 23, 59), 1_597_708_800_000, []),
    ]

    @Test(arguments: threeDay)
    func threeDayGridStartsOnTheFirstTradingDay(symbol: String, listed: Int64, firstOpen: Int64, later: [Int64]) {
        let grid = Timeframe.d3.grid(listedAtMs: listed)
        #expect(grid.floor(listed) == firstOpen, "\(symbol)")
        #expect(grid.isAligned(firstOpen))
        #expect(grid.closeTime(ofOpen: firstOpen) == firstOpen + 3 * Timeframe.dayMs - 1)
        for open in later {
            #expect(grid.isAligned(open), "\(symbol) \(open)")
            #expect(!grid.isAligned(open + Timeframe.dayMs) && !grid.isAligned(open - Timeframe.dayMs))
        }
    }

    @Test func theFiveSymbolsUseAllThreeOrigins() {
        let origins = Set(Self.threeDay.map { Timeframe.d3.grid(listedAtMs: $0.1).originMs })
        #expect(origins == [0, Timeframe.dayMs, 2 * Timeframe.dayMs])
    }

    /// Only 3d depends on the symbol: weeks stay on Mondays, months on the 1st, the rest on the epoch.
    @Test(arguments: Timeframe.allCases.filter { $0 != .d3 })
    func otherGridsIgnoreTheListing(timeframe: Timeframe) {
        let listings: [Int64?] = [nil, 1_502_942_400_000, utc(2018, 5, 4, 8), utc(2019, 1, 16, 4)]
        let grids = Set(listings.map { timeframe.grid(listedAtMs: $0) })
        #expect(grids.count == 1)
        #expect(Timeframe.w1.grid(listedAtMs: utc(2018, 5, 4, 8)).floor(utc(2018, 5, 4, 8)) == utc(2018, 4, 30))
    }

    /// Chunks of a 3d pair are cut on its own grid, so every task starts and ends on the pair's candle opens.
    @Test func threeDayChunksFollowThePairsGrid() {
        let grid = Timeframe.d3.grid(listedAtMs: 1_502_942_400_000)
        let chunker = Chunker(grid: grid, batchLimit: 100)
        let chunk = chunker.chunk(containing: utc(2024, 6, 1))
        #expect(grid.isAligned(chunk.lowerBound) && grid.isAligned(chunk.upperBound))
        #expect(grid.candleCount(in: chunk) == 100)
        #expect(chunk.contains(utc(2024, 6, 1)))
    }
}
