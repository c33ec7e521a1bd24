import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// The client against scripted responses (closure transport, virtual time).
struct BinanceClientTests {
    static let page = #"[[1704067200000,"1.0","2.0","0.5","1.5","10.0",1704070799999,"15.0",3,"5.0","7.5","0"]]"#

    func client(
        _ transport: ClosureTransport, market: MarketKind = .spot, attempts: Int = 6, apiKey: String? = nil
    )
        -> (BinanceClient, VirtualTimeSource)
    {
        let time = VirtualTimeSource()
        let client = BinanceClient(
            transport: transport, market: market, baseURL: "http://127.0.0.1:1",
            governor: RateGovernor(limit: 6000, time: time),
            retry: RetryPolicy(maxAttempts: attempts, baseDelayMs: 100, maxDelayMs: 1_000), time: time, apiKey: apiKey)
        return (client, time)
    }

    func fetch(_ client: BinanceClient) async throws -> [Kline] {
        try await client.klines(
            symbolId: "BTCUSDT", grid: Timeframe.h1.grid(listedAtMs: nil), startTime: 1_704_067_200_000, endTime: nil,
            limit: 10)
    }

    @Test(arguments: [
        ClosureTransport.json(
            503, #"{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}"#),
        ClosureTransport.json(502, "<html><head><title>502 Bad Gateway</title></head></html>"),
        ClosureTransport.json(500, ""),
        ClosureTransport.json(408, "Request timeout"),
        ClosureTransport.json(200, #"[[1704067200000,"1.0","2.0","#),  // truncated body
        ClosureTransport.json(200, "<html>maintenance</html>"),
    ])
    func retryableFailuresAreRetriedThenSucceed(failure: HTTPResponse) async throws {
        let transport = ClosureTransport { _, index in
            index < 2 ? failure : ClosureTransport.json(200, Self.page)
        }
        let (client, time) = client(transport)
        let rows = try await fetch(client)
        #expect(rows.count == 1)
        #expect(transport.requests.count == 3)
        #expect(time.sleeps.count == 2)
        #expect(time.sleeps[0] <= 100 && time.sleeps[1] <= 200, "jittered exponential backoff")
    }

    @Test(arguments: [
        TransportError.timeout, .connectionClosed("reset by peer"), .connectFailed("refused"), .other("boom"),
    ])
    func transportErrorsAreRetried(error: TransportError) async throws {
        let transport = ClosureTransport { _, index in
            if index == 0 { throw error }
            return ClosureTransport.json(200, Self.page)
        }
        let (client, _) = client(transport)
        #expect(try await fetch(client).count == 1)
        #expect(transport.requests.count == 2)
    }

    @Test func anUnparsableBodyIsNeverNoData() async throws {
        let transport = ClosureTransport { _, _ in ClosureTransport.json(200, "[[1704067200000,") }
        let (client, _) = client(transport, attempts: 4)
        await #expect(throws: ExchangeError.self) { _ = try await fetch(client) }
        do {
            _ = try await fetch(client)
        } catch let error as ExchangeError {
            #expect(error.isTemporary)
            #expect(error.description.contains("invalid body"))
            #expect(error.description.contains("after 4 attempts"))
        }
    }

    @Test(arguments: [
        (
            ClosureTransport.json(403, "<html>Forbidden</html>"),
            "HTTP 403, blocked by Binance's web application firewall"
        ),
        (
            ClosureTransport.json(451, #"{"code":0,"msg":"Service unavailable from a restricted location"}"#),
            "HTTP 451, Binance does not serve this location"
        ),
        (
            ClosureTransport.json(400, #"{"code":-1121,"msg":"Invalid symbol."}"#),
            "Invalid symbol. (HTTP 400, code -1121)"
        ),
        (
            ClosureTransport.json(400, #"{"code":-1120,"msg":"Invalid interval."}"#),
            "Invalid interval. (HTTP 400, code -1120)"
        ),
        (
            ClosureTransport.json(400, #"{"code":-1130,"msg":"Data sent for parameter 'limit' is not valid."}"#),
            "code -1130"
        ),
        (ClosureTransport.json(404, "<html>Not Found</html>"), "HTTP 404"),
    ])
    func permanentErrorsAreNotRetriedAndSayWhy(response: HTTPResponse, message: String) async throws {
        let transport = ClosureTransport { _, _ in response }
        let (client, time) = client(transport)
        do {
            _ = try await fetch(client)
            Issue.record("expected an error")
        } catch let error as ExchangeError {
            #expect(!error.isTemporary)
            #expect(error.description.contains(message), "\(error)")
        }
        #expect(transport.requests.count == 1)
        #expect(time.sleeps.isEmpty)
    }

    @Test func a429WaitsExactlyRetryAfterThenGoesOn() async throws {
        let transport = ClosureTransport { _, index in
            index == 0
                ? ClosureTransport.json(
                    429, #"{"code":-1003,"msg":"Too much request weight used"}"#, headers: [("Retry-After", "7")])
                : ClosureTransport.json(200, Self.page, headers: [("X-MBX-USED-WEIGHT-1M", "12")])
        }
        let (client, time) = client(transport)
        #expect(try await fetch(client).count == 1)
        #expect(time.sleeps == [7_000])
        #expect(await client.governor.stats.rateLimited == 1)
        #expect(await client.governor.stats.maxObservedUsed == 12, "header names match case-insensitively")
        // The client's counters, which `apply` prints: one 429, no retry, two requests sent for data.
        let counted = client.counters.snapshot
        #expect(counted.rateLimited == 1 && counted.retries == 0 && counted.dataRequests == 2)
        #expect(counted.windowUsed == 12, "the window's weight as the server reported it")
        var summary = ApplySummary()
        summary.count(counted)
        #expect(summary.rateLimited == 1 && summary.retries == 0 && summary.requests == 2)
        #expect(summary.text.contains("2 requests, 0 retries, 1 × 429, weight 4, "))
    }

    @Test func a418StopsEverythingWithTheBansEnd() async throws {
        let transport = ClosureTransport { _, _ in
            ClosureTransport.json(
                418, #"{"code":-1003,"msg":"Way too much request weight used; IP banned until 1700000120000."}"#,
                headers: [("Retry-After", "120")])
        }
        let (client, time) = client(transport)
        let start = time.nowMs()
        await #expect(throws: ExchangeError.banned(untilMs: start + 120_000)) { _ = try await fetch(client) }
        // Nothing more reaches the exchange until the ban ends.
        await #expect(throws: ExchangeError.banned(untilMs: start + 120_000)) { _ = try await fetch(client) }
        #expect(transport.requests.count == 1)
        #expect(ExchangeError.banned(untilMs: start + 120_000).isTemporary)
        #expect(ExchangeError.banned(untilMs: 1_700_000_120_000).description.contains("until 2023-11-14T22:15:20Z"))
    }

    @Test func theAPIKeyIsSentButNeverShown() async throws {
        let secret = "k3y-THAT-must-not-leak"
        let transport = ClosureTransport { _, _ in
            ClosureTransport.json(400, #"{"code":-1121,"msg":"Invalid symbol."}"#)
        }
        let (client, _) = client(transport, apiKey: secret)
        do {
            _ = try await fetch(client)
        } catch {
            #expect(!String(describing: error).contains(secret))
        }
        #expect(transport.requests.first?.headers["X-MBX-APIKEY"] == secret)
        #expect(transport.requests.first?.url.contains(secret) == false)
    }

    @Test func requestsAreShapedPerMarket() async throws {
        let transport = ClosureTransport { _, _ in ClosureTransport.json(200, "[]") }
        for (market, prefix) in [
            (MarketKind.spot, "/api/v3/klines"), (.usdm, "/fapi/v1/klines"), (.coinm, "/dapi/v1/klines"),
        ] {
            let (client, _) = client(transport, market: market)
            _ = try await client.klines(
                symbolId: "BTCUSDT", grid: Timeframe.h1.grid(listedAtMs: nil), startTime: 0, endTime: 3_599_999,
                limit: 499)
            let url = try #require(transport.requests.last?.url)
            #expect(
                url == "http://127.0.0.1:1\(prefix)?symbol=BTCUSDT&interval=1h&startTime=0&endTime=3599999&limit=499")
        }
    }

    @Test func exchangeInfoBecomesMarketsAndLimits() async throws {
        let state = FakeBinanceState(config: FakeBinanceConfig(weight: .init(limit: 1200, windowMs: 60_000)))
        let router = FakeBinanceRouter(state: state)
        for market in MarketKind.allCases {
            let prefix = ["spot": "/api/v3", "usdm": "/fapi/v1", "coinm": "/dapi/v1"][market.rawValue] ?? ""
            let body = router.respond(path: prefix + "/exchangeInfo", query: "").body
            let info = try ExchangeInfo.parse(body, market: market)
            #expect(info.weightLimit == 1200)
            #expect(info.weightWindowMs == 60_000)
            let expected = SimulatedExchange().markets(market).map(\.symbol).sorted()
            #expect(info.markets.map(\.symbol).sorted() == expected)
            if market != .spot { #expect(info.markets.allSatisfy { $0.listedAtMs != nil }) }
        }
        #expect(throws: ExchangeError.self) { try ExchangeInfo.parse(Array("{}".utf8), market: .spot) }
    }
}
