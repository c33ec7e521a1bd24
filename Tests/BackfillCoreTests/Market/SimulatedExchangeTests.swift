import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

struct SimulatedExchangeTests {
    let exchange = SimulatedExchange()
    let btc: SimulatedExchange.Instrument

    init() throws {
        btc = try #require(SimulatedExchange().instrument(.spot, symbolId: "BTCUSDT"))
    }

    @Test func listsEveryMarketFamilyWithListings() {
        #expect(exchange.markets(.spot).contains { $0.symbol == "BTC/USDT" && $0.symbolId == "BTCUSDT" })
        #expect(exchange.markets(.usdm).contains { $0.symbol == "BTC/USDT:USDT" && $0.symbolId == "BTCUSDT" })
        #expect(exchange.markets(.coinm).contains { $0.symbol == "BTC/USD:BTC" && $0.symbolId == "BTCUSD_PERP" })
        #expect(exchange.markets(.spot).allSatisfy { $0.listedAtMs != nil })
        #expect(exchange.markets(.spot).contains { $0.status == "BREAK" })
    }

    @Test(arguments: Timeframe.allCases)
    func everyTimeframeServesAlignedAscendingClosedCandles(timeframe: Timeframe) {
        let now = utc(2024, 6, 1, 12, 34, 56)
        let rows = exchange.klines(btc, timeframe, startTime: utc(2020, 1, 1), endTime: nil, limit: 50, serverTime: now)
        #expect(!rows.isEmpty)
        for (a, b) in zip(rows, rows.dropFirst()) { #expect(a.openTime < b.openTime) }
        // On the symbol's grid: BTCUSDT's 3d candles open on 2017-08-17 + multiples of three days.
        let grid = exchange.grid(btc, timeframe)
        for row in rows {
            #expect(grid.isAligned(row.openTime))
            #expect(row.closeTime == grid.closeTime(ofOpen: row.openTime))
            if timeframe == .d3 { #expect((row.openTime - 1_502_928_000_000) % (3 * Timeframe.dayMs) == 0) }
            for value in [row.open, row.high, row.low, row.close, row.volume] {
                #expect(value.split(separator: ".").last?.count == 8, "\(value)")
                #expect(!value.hasPrefix("-"))
            }
            let (o, h, l, c) = (Double(row.open)!, Double(row.high)!, Double(row.low)!, Double(row.close)!)
            #expect(l <= min(o, c) && max(o, c) <= h)
        }
    }

    @Test func deterministic() {
        let a = exchange.klines(
            btc, .m1, startTime: utc(2023, 5, 1), endTime: nil, limit: 1000, serverTime: utc(2024, 1, 1))
        let b = exchange.klines(
            btc, .m1, startTime: utc(2023, 5, 1), endTime: nil, limit: 1000, serverTime: utc(2024, 1, 1))
        #expect(a == b)
        #expect(a.count == 1000)
    }

    @Test func startBeforeListingReturnsFromTheFirstCandle() {
        let rows = exchange.klines(btc, .h1, startTime: 0, endTime: nil, limit: 3, serverTime: utc(2024, 1, 1))
        #expect(rows.first?.openTime == 1_502_942_400_000)
        let daily = exchange.klines(btc, .d1, startTime: 0, endTime: nil, limit: 1, serverTime: utc(2024, 1, 1))
        #expect(daily.first?.openTime == utc(2017, 8, 17))
        #expect(exchange.firstCandle(btc, .w1) == utc(2017, 8, 14))
    }

    @Test func maintenanceGapsHaveNoCandlesButLongerCandlesSpanThem() {
        // 2018-02-08 00:15 → 2018-02-09 10:00: no 1m/1h candle inside; the 1w candle of that week exists.
        let minutes = exchange.klines(
            btc, .m1, startTime: utc(2018, 2, 8, 0, 10), endTime: utc(2018, 2, 9, 10, 5), limit: 1000,
            serverTime: utc(2024, 1, 1))
        #expect(
            minutes.map(\.openTime) == (0..<5).map { utc(2018, 2, 8, 0, 10) + $0 * 60_000 }
                + (0...5).map {
                    utc(2018, 2, 9, 10) + $0 * 60_000
                })
        #expect(exchange.hasCandle(btc, .w1, openTime: utc(2018, 2, 5)))
        #expect(exchange.hasCandle(btc, .d1, openTime: utc(2018, 2, 8)))
        #expect(!exchange.hasCandle(btc, .h1, openTime: utc(2018, 2, 8, 12)))
    }

    @Test func zeroVolumeFlatCandlesExist() {
        let rows = exchange.klines(
            btc, .m1, startTime: utc(2024, 1, 1), endTime: nil, limit: 1000, serverTime: utc(2025, 1, 1))
        let flat = rows.filter { $0.volume == "0.00000000" }
        #expect(!flat.isEmpty)
        for row in flat {
            #expect(row.open == row.high && row.high == row.low && row.low == row.close)
            #expect(row.trades == 0)
        }
    }

    @Test func delistedSymbolStopsAndOpenCandleIsPartial() {
        let luna = exchange.instrument(.spot, symbolId: "LUNAUSDT")!
        let after = exchange.klines(
            luna, .h1, startTime: luna.delistedAtMs!, endTime: nil, limit: 10, serverTime: utc(2024, 1, 1))
        #expect(after.isEmpty)
        let now = utc(2024, 3, 1, 10, 30)
        let rows = exchange.klines(btc, .h1, startTime: utc(2024, 3, 1, 8), endTime: nil, limit: 10, serverTime: now)
        #expect(rows.map(\.openTime) == [utc(2024, 3, 1, 8), utc(2024, 3, 1, 9), utc(2024, 3, 1, 10)])
        let open = rows[2]
        #expect(open.closeTime >= now)
        let later = exchange.klines(
            btc, .h1, startTime: utc(2024, 3, 1, 10), endTime: nil, limit: 1, serverTime: utc(2024, 3, 2))
        #expect(later.first?.close != open.close || later.first?.volume == "0.00000000")
    }
}
