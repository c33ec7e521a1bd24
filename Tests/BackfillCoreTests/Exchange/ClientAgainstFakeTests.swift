import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// The production client and transport against the fake Binance on loopback.
@Suite(.serialized)
struct ClientAgainstFakeTests {
    /// 2024-03-01T00:00Z: the fake's frozen clock, so "closed" is deterministic.
    static let now = utc(2024, 3, 1)
    static let fastRetry = RetryPolicy(maxAttempts: 12, baseDelayMs: 5, maxDelayMs: 50)

    /// - Parameter frozen: freeze the candle clock at `now`. Weight windows always run on the wall clock, so a test
    ///   about windows uses the live clock: with a frozen one the client measures a clock offset (as it would against
    ///   a Binance whose clock is off) and cuts its windows out of phase with the fake's.
    static func config(
        faults: FakeBinanceConfig.Faults = .init(), limit: Int = 0, windowMs: Int64 = 60_000, frozen: Bool = true
    )
        -> FakeBinanceConfig
    {
        FakeBinanceConfig(
            clock: .init(frozenMs: frozen ? now : nil), weight: .init(limit: limit, windowMs: windowMs),
            faults: faults)
    }

    /// What the server holds: its closed candles in `range`.
    static func expected(
        _ server: FakeBinanceServer, _ market: MarketKind, _ id: String, _ tf: Timeframe,
        _ range: TimeRange
    ) throws -> [Kline] {
        let exchange = SimulatedExchange(config: server.state.config.market)
        let instrument = try #require(exchange.instrument(market, symbolId: id))
        var rows: [Kline] = []
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            let page = exchange.klines(
                instrument, tf, startTime: cursor, endTime: range.upperBound - 1, limit: 1000, serverTime: now)
            rows += page
            guard let last = page.last, page.count == 1000 else { break }
            cursor = last.openTime + 1
        }
        return rows.filter { $0.closeTime < now }
    }

    static let faultKinds: [(String, FakeBinanceConfig.Faults)] = [
        ("5xx JSON", .init(seed: 11, serverErrorJSON: 0.3)),
        ("5xx HTML", .init(seed: 12, serverErrorHTML: 0.3)),
        ("connection reset", .init(seed: 13, reset: 0.3)),
        ("slow", .init(seed: 14, slow: 0.3, slowMs: 30)),
        ("truncated body", .init(seed: 15, truncated: 0.3)),
        ("all five at 10 %", .all(0.1, seed: 16, slowMs: 30)),
    ]

    @Test(arguments: faultKinds)
    func faultsStillYieldExactlyTheClosedCandles(name: String, faults: FakeBinanceConfig.Faults) async throws {
        try await withFakeBinance(Self.config(faults: faults)) { server in
            let (client, transport) = makeClient(server, connections: 4, retry: Self.fastRetry)
            // 24 000 one-minute candles ending at the frozen "now" (the last one is still open there).
            let range = TimeRange(uncheckedLower: Self.now - 24_000 * 60_000, upper: Self.now + 60_000)
            let rows = try await client.klines(
                symbolId: "BTCUSDT", grid: Timeframe.m1.grid(listedAtMs: nil), range: range, limit: 1000)
            await transport.shutdown()
            let closed = rows.filter { $0.closeTime < Self.now }
            #expect(closed == (try Self.expected(server, .spot, "BTCUSDT", .m1, range)), "\(name)")
            // 150 minutes of the 2024-02-14 maintenance window have no candles.
            #expect(closed.count == 24_000 - 150)
            #expect(rows.count == closed.count + 1, "the candle open at now comes back too; callers drop it")
            #expect(rows.last.map { $0.closeTime >= Self.now } == true)
            if name != "slow" { #expect(server.state.stats.faults > 0, "\(name): faults were injected") }
        }
    }

    @Test func anotherClientSpendingWeightNeverPushesTheToolIntoA429() async throws {
        // A 2-second window of 400 weight; another process (like the live ingester: small requests, often) spends
        // 2 every 15 ms, ~60 % of it. The safety margin (5 %, 20 weight) absorbs what the neighbour spends between
        // two of the tool's responses; a neighbour whose single requests outweigh the margin could still be refused.
        try await withFakeBinance(Self.config(limit: 400, windowMs: 2_000, frozen: false)) { server in
            let (client, transport) = makeClient(server, connections: 4, retry: Self.fastRetry)
            let other = Task {
                let transport = AsyncHTTPClientTransport(connections: 1)
                let url = server.baseURL + "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1"
                while !Task.isCancelled {
                    // A well-behaved neighbour stops at its first refusal.
                    guard let response = try? await transport.get(HTTPRequest(url: url)), response.status == 200
                    else { break }
                    try? await Task.sleep(for: .milliseconds(15))
                }
                await transport.shutdown()
            }
            // The neighbour was there first (like the live ingester). The tool's first request (exchangeInfo) goes
            // out half a second into a window, so its header shows the neighbour's pace; from then on the governor
            // carries that pace from window to window.
            let phase = Int64(Date().timeIntervalSince1970 * 1000) % 2_000
            try await Task.sleep(for: .milliseconds(2_000 + 500 - phase))
            _ = try await client.exchangeInfo()
            #expect(await client.governor.limit == 400)
            #expect(await client.governor.windowMs == 2_000)
            let range = TimeRange(uncheckedLower: utc(2024, 1, 1), upper: utc(2024, 1, 1) + 150 * 100 * 60_000)
            let fetched: Result<Int, any Error>
            do {
                fetched = .success(
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for part in 0..<3 {
                            let slice = TimeRange(
                                uncheckedLower: range.lowerBound + Int64(part) * 50 * 100 * 60_000,
                                upper: range.lowerBound + Int64(part + 1) * 50 * 100 * 60_000)
                            group.addTask {
                                try await client.klines(
                                    symbolId: "BTCUSDT", grid: Timeframe.m1.grid(listedAtMs: nil), range: slice,
                                    limit: 100
                                )
                                .count
                            }
                        }
                        return try await group.reduce(0, +)
                    })
            } catch {
                fetched = .failure(error)
            }
            other.cancel()
            _ = try? await other.value
            await transport.shutdown()
            let rows = try fetched.get()
            #expect(rows == 15_000)
            #expect(await client.governor.stats.rateLimited == 0, "the tool never saw a 429")
            #expect(server.state.stats.rateLimited == 0, "nobody did")
            // No window went over the limit, by the fake's own count (whether the budget was the brake depends on
            // how fast the neighbour manages to spend on a loaded machine).
            let totals = server.state.stats.windows.values.map { $0.values.reduce(0, +) }
            #expect(!totals.isEmpty && totals.allSatisfy { $0 <= 400 }, "\(totals)")
        }
    }

    @Test func futuresPageSizeGivesTheMostCandlesPerWeight() async throws {
        try await withFakeBinance(Self.config()) { server in
            let (client, transport) = makeClient(server, market: .usdm, retry: Self.fastRetry)
            let range = TimeRange(uncheckedLower: utc(2023, 1, 1), upper: utc(2023, 1, 1) + 2_994 * 3_600_000)
            var perWeight: [Int: Double] = [:]
            for limit in [99, 499, 1000, 1500] {
                let before = server.state.stats.weightUsed
                let rows = try await client.klines(
                    symbolId: "BTCUSDT", grid: Timeframe.h1.grid(listedAtMs: nil), range: range, limit: limit)
                #expect(rows.count == 2_994)
                perWeight[limit] = Double(rows.count) / Double(server.state.stats.weightUsed - before)
            }
            await transport.shutdown()
            let best = perWeight.max { $0.value < $1.value }?.key
            #expect(best == 499, "\(perWeight)")
            #expect(MarketKind.usdm.defaultBatchLimit == 499)
            #expect(MarketKind.coinm.defaultBatchLimit == 499)
        }
    }

    @Test(arguments: [(Timeframe.h1, 1000, 300), (.d1, 1500, 1300), (.m5, 499, 40)])
    func coinmPagingIsComplete(timeframe: Timeframe, limit: Int, days: Int64) async throws {
        try await withFakeBinance(Self.config()) { server in
            let (client, transport) = makeClient(server, market: .coinm, retry: Self.fastRetry)
            let range = TimeRange(uncheckedLower: Self.now - days * Timeframe.dayMs, upper: Self.now)
            let rows = try await client.klines(
                symbolId: "BTCUSD_PERP", grid: timeframe.grid(listedAtMs: nil), range: range, limit: limit)
            await transport.shutdown()
            let expected = try Self.expected(server, .coinm, "BTCUSD_PERP", timeframe, range)
            #expect(rows == expected)
            #expect(!rows.isEmpty && rows.first?.openTime == expected.first?.openTime)
        }
    }

    @Test func fakeErrorCodesBecomeClearPermanentErrors() async throws {
        try await withFakeBinance(Self.config()) { server in
            let (client, transport) = makeClient(server, retry: Self.fastRetry)
            await #expect(
                throws: ExchangeError.rejected(
                    status: 400, code: -1121, message: "Invalid symbol.",
                    request: "/api/v3/klines?symbol=NOPEUSDT&interval=1h&startTime=0&limit=10")
            ) {
                _ = try await client.klines(
                    symbolId: "NOPEUSDT", grid: Timeframe.h1.grid(listedAtMs: nil), startTime: 0, endTime: nil,
                    limit: 10)
            }
            let raw = AsyncHTTPClientTransport(connections: 1)
            for (query, code) in [
                ("symbol=btcusdt&interval=1h", -1100), ("symbol=BTCUSDT&interval=2h30m", -1120),
                ("symbol=BTCUSDT&interval=1h&limit=0", -1130), ("symbol=BTCUSDT&interval=1h&limit=1001", -1130),
                ("interval=1h", -1102),
            ] {
                let response = try await raw.get(HTTPRequest(url: server.baseURL + "/api/v3/klines?" + query))
                #expect(response.status == 400)
                #expect(String(decoding: response.body, as: UTF8.self).contains("\"code\":\(code)"), "\(query)")
            }
            await raw.shutdown()
            await transport.shutdown()
            #expect(server.state.stats.faults == 0)
        }
    }

    @Test func hammeringPast429sEscalatesTo418AndTheClientStopsWithTheBansEnd() async throws {
        let config = FakeBinanceConfig(
            clock: .init(frozenMs: Self.now), weight: .init(limit: 10, windowMs: 60_000),
            bans: .init(strikes: 2, baseSeconds: 120, maxSeconds: 259_200))
        try await withFakeBinance(config) { server in
            let raw = AsyncHTTPClientTransport(connections: 1)
            var statuses: [Int] = []
            for _ in 0..<14 {
                let response = try await raw.get(HTTPRequest(url: server.baseURL + "/api/v3/ping"))
                statuses.append(response.status)
                if response.status != 200 { #expect(response.header("Retry-After") != nil) }
            }
            await raw.shutdown()
            #expect(Array(statuses.prefix(10)) == Array(repeating: 200, count: 10))
            #expect(statuses.contains(429))
            #expect(statuses.last == 418)
            let (client, transport) = makeClient(server, retry: Self.fastRetry)
            do {
                _ = try await client.serverTime()
                Issue.record("expected a ban")
            } catch let ExchangeError.banned(until) {
                let wall = WallClock.nowMs()
                #expect(until > wall + 100_000 && until <= wall + 121_000, "ban end from Retry-After")
            }
            await transport.shutdown()
            #expect(server.state.stats.bansIssued == 1)
        }
    }

    @Test func listingDiscoveryAndServerTime() async throws {
        try await withFakeBinance(Self.config()) { server in
            let (client, transport) = makeClient(server)
            #expect(try await client.serverTime() == Self.now)
            #expect(try await client.firstCandle(symbolId: "BTCUSDT") == 1_502_942_400_000)
            let info = try await client.exchangeInfo()
            #expect(
                info.markets.contains { $0.symbol == "BTC/USDT" && $0.symbolId == "BTCUSDT" && $0.status == "TRADING" })
            #expect(info.markets.contains { $0.symbol == "LUNA/USDT" && $0.status == "BREAK" })
            await transport.shutdown()
        }
    }
}
