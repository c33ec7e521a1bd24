import BackfillModel
import Foundation
import Logging

/// Binance's REST market data for one market family (spot `/api/v3`, USD-M `/fapi/v1`, COIN-M `/dapi/v1`):
/// server time, exchangeInfo, listing discovery and klines pages, every request through the shared
/// ``RateGovernor`` and the ``RetryPolicy``.
package struct BinanceClient: Sendable {
    package let transport: any HTTPTransport
    package let market: MarketKind
    package let baseURL: String
    package let governor: RateGovernor
    package let retry: RetryPolicy
    package let time: any TimeSource
    /// Sent as `X-MBX-APIKEY` when set; never printed, logged or stored.
    private let apiKey: String?
    /// What this client (and every copy of it) sent and met.
    package let counters = RequestCounters()
    /// `debug`: each request with its weight and the window after it; `info`: retries and 429 waits. The URL is
    /// logged, never the API key (a header).
    package var logger: Logger = .silent

    package init(
        transport: any HTTPTransport, market: MarketKind, baseURL: String, governor: RateGovernor,
        retry: RetryPolicy = RetryPolicy(), time: any TimeSource = SystemTimeSource(), apiKey: String? = nil
    ) {
        self.transport = transport
        self.market = market
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.governor = governor
        self.retry = retry
        self.time = time
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The path prefix of the market family.
    package var prefix: String {
        switch market {
        case .spot: "/api/v3"
        case .usdm: "/fapi/v1"
        case .coinm: "/dapi/v1"
        }
    }

    /// COIN-M's largest startTime–endTime window.
    package static let coinmWindowMs: Int64 = 200 * Timeframe.dayMs

    // MARK: Endpoints

    /// `GET /time`: the exchange's clock (weight 1).
    package func serverTime() async throws -> Int64 {
        try await request("time", weight: 1) { body in
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let time = (object["serverTime"] as? NSNumber)?.int64Value, time > 0
            else { throw ExchangeError.invalidResponse("time: expected {\"serverTime\": <ms>}") }
            guard ServerClock.isPlausible(time, localMs: self.time.nowMs()) else {
                throw ExchangeError.invalidResponse(
                    "time: serverTime \(time) is outside 2017 … local time + 1 day; the server's clock is not believed")
            }
            return time
        }
    }

    /// `GET /exchangeInfo` (weight 20 on spot, 1 on futures); also configures the governor's limit.
    package func exchangeInfo() async throws -> ExchangeInfo {
        let info = try await request("exchangeInfo", weight: market == .spot ? 20 : 1, essential: true) { body in
            try ExchangeInfo.parse(body, market: market)
        }
        if info.weightLimit > 0 {
            let local = time.nowMs()
            let offset =
                info.serverTime.flatMap { ServerClock.isPlausible($0, localMs: local) ? $0 - local : nil } ?? 0
            await governor.configure(
                limit: info.weightLimit, windowMs: info.weightWindowMs, serverOffsetMs: abs(offset) < 5_000 ? 0 : offset
            )
        }
        return info
    }

    /// The open time of the symbol's first 1m candle (spot listing discovery: `startTime=0&limit=1`). Futures
    /// listings come from exchangeInfo's `onboardDate` instead.
    package func firstCandle(symbolId: String) async throws -> Int64? {
        let rows = try await klines(
            symbolId: symbolId, grid: Timeframe.m1.grid(listedAtMs: nil), startTime: 0, endTime: nil, limit: 1,
            counted: false)
        return rows.first?.openTime
    }

    /// One klines request, decoded and validated: rows ascending, inside `[startTime, endTime]` by open time, at
    /// most `limit`, each with a consistent close time. `counted`: a data request (a listing probe is not).
    package func klines(
        symbolId: String, grid: CandleGrid, startTime: Int64, endTime: Int64?, limit: Int, counted: Bool = true
    )
        async throws -> [Kline]
    {
        guard UnifiedSymbol.isSafeSymbolId(symbolId) else {
            throw ExchangeError.rejected(
                status: 0, code: -1100, message: "illegal symbol id", request: "klines \(symbolId)")
        }
        var query = "symbol=\(symbolId)&interval=\(grid.timeframe.rawValue)&startTime=\(startTime)"
        if let endTime { query += "&endTime=\(endTime)" }
        query += "&limit=\(limit)"
        return try await request("klines", query: query, weight: market.klinesWeight(limit: limit), counted: counted) {
            body in
            let rows: [Kline]
            do {
                rows = try KlinesDecoder.decode(body)
            } catch let error as KlinesDecodingError {
                throw ExchangeError.invalidResponse(error.description)
            }
            try KlinesValidator.validate(
                rows, grid: grid, startTime: startTime, endTime: endTime, limit: limit)
            return rows
        }
    }

    /// Every candle with open time in `range`, paging as the market requires: spot and USD-M page forward from
    /// the last open time; COIN-M, which returns the newest rows of a window of at most 200 days, is asked in
    /// windows small enough to hold at most `limit` candles, always with both bounds.
    package func klines(symbolId: String, grid: CandleGrid, range: TimeRange, limit: Int) async throws -> [Kline] {
        var rows: [Kline] = []
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            if market == .coinm {
                let end = min(
                    range.upperBound, grid.advance(grid.ceil(cursor), by: Int64(limit)),
                    cursor + Self.coinmWindowMs)
                let page = try await klines(
                    symbolId: symbolId, grid: grid, startTime: cursor, endTime: end - 1, limit: limit)
                rows.append(contentsOf: page)
                cursor = end
            } else {
                let page = try await klines(
                    symbolId: symbolId, grid: grid, startTime: cursor, endTime: range.upperBound - 1,
                    limit: limit)
                rows.append(contentsOf: page)
                // A full page may be followed by more; a page that reached the range's last grid candle is the end.
                guard page.count == limit, let last = page.last,
                    last.openTime < grid.floor(range.upperBound - 1)
                else { break }
                cursor = last.openTime + 1
            }
        }
        return rows
    }

    // MARK: Requests

    /// Sends one GET through the governor, retrying what is worth retrying, and decodes the 200 body.
    func request<T: Sendable>(
        _ endpoint: String, query: String = "", weight: Int, essential: Bool = false, counted: Bool = false,
        decode: @Sendable ([UInt8]) throws -> T
    ) async throws -> T {
        let url = baseURL + prefix + "/" + endpoint + (query.isEmpty ? "" : "?" + query)
        let label = prefix + "/" + endpoint + (query.isEmpty ? "" : "?" + query)
        var headers: [String: String] = [:]
        if let apiKey { headers["X-MBX-APIKEY"] = apiKey }
        var failures = 0
        var rateLimitWaits = 0
        var generator = SeededGenerator(seed: UInt64(truncatingIfNeeded: label.hashValue))
        while true {
            let ticket = try await governor.acquire(weight: weight, essential: essential)
            counters.sent(weight: weight, data: counted)
            let failure: String
            do {
                let response = try await transport.get(HTTPRequest(url: url, headers: headers))
                let window = await governor.release(ticket, usedWeight: Self.usedWeight(response))
                counters.window(used: window.used, limit: window.limit)
                logger.debug(
                    "GET \(label) → \(response.status), weight \(weight), window \(window.used)/\(window.limit)")
                switch response.status {
                case 200:
                    do {
                        return try decode(response.body)
                    } catch let error as ExchangeError {
                        guard case .invalidResponse(let detail) = error else { throw error }
                        failure = "invalid body (\(detail))"
                    }
                case 429:
                    rateLimitWaits += 1
                    counters.rateLimited()
                    let seconds = Self.retryAfterSeconds(response, default: 60)
                    // A wait past 15 minutes is not one to sit out in a run (§11): stop at once, retry later.
                    guard seconds <= Self.maxRateLimitPauseSeconds else {
                        await governor.rateLimited(retryAfterSeconds: seconds)
                        throw ExchangeError.pauseTooLong(seconds: seconds, request: label)
                    }
                    logger.info("HTTP 429 on \(label): every request waits \(seconds) s (Retry-After)")
                    await governor.rateLimited(retryAfterSeconds: seconds)
                    guard rateLimitWaits <= retry.maxRateLimitWaits else {
                        throw ExchangeError.unavailable(attempts: rateLimitWaits, last: "HTTP 429 on \(label)")
                    }
                    continue
                case 418:
                    let seconds = Self.retryAfterSeconds(response, default: 120)
                    throw ExchangeError.banned(untilMs: await governor.banned(retryAfterSeconds: seconds))
                case 408, 500...599:
                    failure = "HTTP \(response.status)"
                default:
                    throw Self.permanentError(response, request: label)
                }
            } catch let error as TransportError {
                await governor.release(ticket, usedWeight: nil)
                failure = error.description
            }
            failures += 1
            guard failures < retry.maxAttempts else {
                throw ExchangeError.unavailable(attempts: failures, last: "\(failure) on \(label)")
            }
            counters.retried()
            let delay = retry.delayMs(attempt: failures, using: &generator)
            logger.info("\(failure) on \(label): retry \(failures) in \(delay) ms")
            try await time.sleep(untilMs: time.nowMs() + delay)
        }
    }

    /// The longest 429 pause a run sits out (§11: beyond 15 minutes, exit 75 at once).
    package static let maxRateLimitPauseSeconds = 900

    /// `Retry-After` in seconds, untrusted: a missing or unparsable value is `fallback`, a negative one 0, and
    /// anything beyond ten years ten years (so no arithmetic on it can overflow).
    static func retryAfterSeconds(_ response: HTTPResponse, default fallback: Int) -> Int {
        guard let text = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces), !text.isEmpty,
            text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return fallback }
        let tenYears = 10 * 366 * 86_400
        return text.utf8.count > 9 ? tenYears : min(Int(text) ?? tenYears, tenYears)
    }

    static func usedWeight(_ response: HTTPResponse) -> Int? {
        for (name, value) in response.headers {
            let lowered = name.lowercased()
            if lowered.hasPrefix("x-mbx-used-weight-"), let used = Int(value) { return used }
        }
        return response.header("x-mbx-used-weight").flatMap { Int($0) }
    }

    /// The error for a response that retrying will not change.
    static func permanentError(_ response: HTTPResponse, request: String) -> ExchangeError {
        switch response.status {
        case 403:
            return .refused(
                status: 403, reason: "blocked by Binance's web application firewall (a rate-limit or security rule)",
                request: request)
        case 451:
            return .refused(
                status: 451, reason: "Binance does not serve this location (restricted jurisdiction)", request: request)
        default:
            if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                let code = (object["code"] as? NSNumber)?.intValue
            {
                let message = (object["msg"] as? String).map { String($0.prefix(300)) } ?? "no message"
                return .rejected(status: response.status, code: code, message: message, request: request)
            }
            return .refused(status: response.status, reason: "unexpected response", request: request)
        }
    }
}

/// The semantic checks a klines page must pass before anything is written.
package enum KlinesValidator {
    /// - Throws: ``ExchangeError/invalidResponse(_:)`` naming the row and the rule.
    package static func validate(
        _ rows: [Kline], grid: CandleGrid, startTime: Int64, endTime: Int64?, limit: Int
    )
        throws
    {
        guard rows.count <= limit else {
            throw ExchangeError.invalidResponse("\(rows.count) klines for limit \(limit)")
        }
        var previous: Int64 = -1
        for (index, row) in rows.enumerated() {
            guard row.openTime > previous else {
                throw ExchangeError.invalidResponse("kline \(index): open times not strictly ascending")
            }
            previous = row.openTime
            guard row.openTime >= startTime, endTime.map({ row.openTime <= $0 }) ?? true,
                row.openTime <= Bound.maxEpochMs
            else {
                throw ExchangeError.invalidResponse(
                    "kline \(index): open time \(row.openTime) outside the requested window")
            }
            let nominalClose = grid.advance(grid.floor(row.openTime), by: 1) - 1
            guard row.closeTime >= row.openTime, row.closeTime <= nominalClose else {
                throw ExchangeError.invalidResponse(
                    "kline \(index): close time \(row.closeTime) inconsistent with open time \(row.openTime)")
            }
        }
    }
}
