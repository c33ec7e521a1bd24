import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// The fake's Binance semantics, asked directly (no sockets).
struct FakeBinanceRouterTests {
    static let now = utc(2024, 3, 1, 12, 30)

    func router(
        _ config: FakeBinanceConfig = FakeBinanceConfig(clock: .init(frozenMs: now), weight: .init(limit: 0))
    )
        -> FakeBinanceRouter
    {
        FakeBinanceRouter(state: FakeBinanceState(config: config))
    }

    func rows(_ response: FakeResponse) throws -> [Kline] {
        #expect(response.status == 200)
        return try KlinesDecoder.decode(response.body)
    }

    @Test func windowSemantics() throws {
        let r = router()
        let start = utc(2024, 3, 1)
        // startTime only: forward from start; both: capped at end; endTime only: newest up to end; none: newest.
        let forward = try rows(
            r.respond(path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1h&startTime=\(start)&limit=3"))
        #expect(forward.map(\.openTime) == [start, start + 3_600_000, start + 7_200_000])
        let both = try rows(
            r.respond(
                path: "/api/v3/klines",
                query: "symbol=BTCUSDT&interval=1h&startTime=\(start)&endTime=\(start + 3_600_000)"))
        #expect(both.count == 2)
        let endOnly = try rows(
            r.respond(path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1h&endTime=\(start)&limit=2"))
        #expect(endOnly.map(\.openTime) == [start - 3_600_000, start])
        let newest = try rows(r.respond(path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1h&limit=2"))
        #expect(newest.map(\.openTime) == [utc(2024, 3, 1, 11), utc(2024, 3, 1, 12)])
        #expect(newest.last.map { $0.closeTime >= Self.now } == true, "the open candle is served, partial")
        // COIN-M: startTime only means a 200-day window, and a window returns its newest rows.
        let coinm = try rows(
            r.respond(
                path: "/dapi/v1/klines", query: "symbol=BTCUSD_PERP&interval=1d&startTime=\(utc(2023, 1, 1))&limit=3"))
        #expect(coinm.map(\.openTime) == [utc(2023, 7, 18), utc(2023, 7, 19), utc(2023, 7, 20)])
        let tooWide = r.respond(
            path: "/dapi/v1/klines",
            query: "symbol=BTCUSD_PERP&interval=1d&startTime=\(utc(2023, 1, 1))&endTime=\(utc(2023, 12, 1))")
        #expect(tooWide.status == 400)
    }

    @Test func weightHeadersAndFuturesWeights() {
        let r = router(FakeBinanceConfig(clock: .init(frozenMs: Self.now), weight: .init(limit: 6000)))
        let spot = r.respond(path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1m&limit=1000")
        #expect(spot.headers.contains { $0.0 == "x-mbx-used-weight-1m" && $0.1 == "2" })
        #expect(spot.headers.contains { $0.0 == "x-mbx-used-weight" && $0.1 == "2" })
        _ = r.respond(path: "/fapi/v1/klines", query: "symbol=BTCUSDT&interval=1m&limit=499")
        _ = r.respond(path: "/fapi/v1/klines", query: "symbol=BTCUSDT&interval=1m&limit=1500")
        let info = r.respond(path: "/api/v3/exchangeInfo", query: "")
        #expect(info.headers.contains { $0.0 == "x-mbx-used-weight-1m" && $0.1 == "\(2 + 2 + 10 + 20)" })
    }

    @Test func bansEscalate() {
        let state = FakeBinanceState(
            config: FakeBinanceConfig(
                weight: .init(limit: 1), bans: .init(strikes: 1, baseSeconds: 120, maxSeconds: 259_200)))
        let t0: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
        #expect(state.admit(weight: 1, isKlines: false, now: t0) == .admitted(used: 1))
        #expect(state.admit(weight: 1, isKlines: false, now: t0 + 1) == .rateLimited(used: 1, retryAfter: 60))
        #expect(
            state.admit(weight: 1, isKlines: false, now: t0 + 2)
                == .banned(used: 1, untilMs: t0 + 2 + 120_000, retryAfter: 120))
        let later = t0 + 10 * 60_000
        #expect(state.admit(weight: 1, isKlines: false, now: later) == .admitted(used: 1))
        #expect(state.admit(weight: 1, isKlines: false, now: later + 1) == .rateLimited(used: 1, retryAfter: 60))
        #expect(
            state.admit(weight: 1, isKlines: false, now: later + 2)
                == .banned(used: 1, untilMs: later + 2 + 240_000, retryAfter: 240), "the second ban is twice as long")
    }

    /// Binance keeps weight per IP: a second address has a budget of its own, and a banned address bans no other.
    @Test func weightIsKeptPerClientAddress() {
        let state = FakeBinanceState(
            config: FakeBinanceConfig(
                weight: .init(limit: 2), bans: .init(strikes: 1, baseSeconds: 120, maxSeconds: 259_200)))
        let t0: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
        #expect(state.admit(weight: 2, isKlines: true, path: "/a", address: "10.0.0.2", now: t0) == .admitted(used: 2))
        #expect(
            state.admit(weight: 1, isKlines: true, path: "/b", address: "10.0.0.2", now: t0 + 1)
                == .rateLimited(used: 2, retryAfter: 60))
        #expect(
            state.admit(weight: 1, isKlines: true, path: "/b", address: "10.0.0.2", now: t0 + 2)
                == .banned(used: 2, untilMs: t0 + 2 + 120_000, retryAfter: 120))
        #expect(
            state.admit(weight: 2, isKlines: true, path: "/b", address: "10.0.0.3", now: t0 + 3) == .admitted(used: 2))
        let stats = state.stats
        #expect(stats.weightByAddress == ["10.0.0.2": 2, "10.0.0.3": 2])
        #expect(stats.klinesByAddress == ["10.0.0.2": 1, "10.0.0.3": 1])
        #expect(stats.klinesQueries == ["/a": 1, "/b": 1])
    }

    @Test func gapsPerSymbolAndOffGridCandles() throws {
        var market = MarketConfig.standard
        market.gaps.append(.init(utc(2024, 1, 2), utc(2024, 1, 3), symbolId: "ETHUSDT", market: .spot))
        let r = router(FakeBinanceConfig(market: market, clock: .init(frozenMs: Self.now), weight: .init(limit: 0)))
        let eth = try rows(
            r.respond(
                path: "/api/v3/klines", query: "symbol=ETHUSDT&interval=1h&startTime=\(utc(2024, 1, 1, 22))&limit=4"))
        #expect(eth.map(\.openTime) == [utc(2024, 1, 1, 22), utc(2024, 1, 1, 23), utc(2024, 1, 3), utc(2024, 1, 3, 1)])
        let btc = try rows(
            r.respond(
                path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1h&startTime=\(utc(2024, 1, 1, 22))&limit=4"))
        #expect(btc.count == 4 && btc[2].openTime == utc(2024, 1, 2))
        // Binance's 2018 irregular candles: a truncated close, and an off-grid open.
        let old = try rows(
            r.respond(path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1h&startTime=1515031200000&limit=3"))
        #expect(old.map(\.openTime) == [1_515_031_200_000, 1_515_034_800_000, 1_515_038_400_000])
        #expect(old[1].closeTime == 1_515_034_814_838)
        try KlinesValidator.validate(
            old, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: 1_515_031_200_000, endTime: nil, limit: 3)
        let restart = try rows(
            r.respond(path: "/api/v3/klines", query: "symbol=BTCUSDT&interval=1h&startTime=1518166800000&limit=3"))
        #expect(restart.map(\.openTime) == [1_518_168_494_789, 1_518_170_400_000, 1_518_174_000_000])
        try KlinesValidator.validate(
            restart, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: 1_518_166_800_000, endTime: nil, limit: 3)
    }

    @Test func configFilesDecodeWithDefaults() throws {
        let json = """
            {"market": {"seed": 7, "instruments": [{"symbol": "BTC/USDT", "symbol_id": "BTCUSDT", "market": "spot",
              "listed_ms": 1502942400000, "base_price": 30000}], "gaps": [{"start_ms": 1, "end_ms": 2}]},
             "clock": {"frozen_ms": 1720000000000}, "weight": {"limit": 1200},
             "faults": {"seed": 3, "reset": 0.25}}
            """
        let config = try JSONDecoder().decode(FakeBinanceConfig.self, from: Data(json.utf8))
        #expect(config.market.seed == 7)
        #expect(config.market.instruments.count == 1)
        #expect(config.clock.frozenMs == 1_720_000_000_000)
        #expect(config.weight == .init(limit: 1200, windowMs: 60_000))
        #expect(config.faults.reset == 0.25 && config.faults.truncated == 0)
        #expect(config.bans.baseSeconds == 120)
        let empty = try JSONDecoder().decode(FakeBinanceConfig.self, from: Data("{}".utf8))
        #expect(empty == FakeBinanceConfig())
    }
}
