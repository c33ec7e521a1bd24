import BackfillModel
import Foundation

/// One response of the fake, before it goes on the wire (where a fault may still mangle it).
package struct FakeResponse: Sendable {
    package var status: Int
    package var headers: [(String, String)]
    package var body: [UInt8]
    package var fault: FakeBinanceState.Fault?

    package init(status: Int, headers: [(String, String)] = [], body: [UInt8], fault: FakeBinanceState.Fault? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.fault = fault
    }

    static func json(_ status: Int, _ text: String) -> FakeResponse {
        FakeResponse(
            status: status, headers: [("Content-Type", "application/json;charset=UTF-8")], body: Array(text.utf8))
    }

    static func error(_ status: Int, code: Int, _ message: String) -> FakeResponse {
        .json(status, #"{"code":\#(code),"msg":"\#(message)"}"#)
    }
}

/// Binance's REST market-data API as the fake serves it: spot `/api/v3`, USD-M `/fapi/v1`, COIN-M `/dapi/v1`.
package struct FakeBinanceRouter: Sendable {
    package let state: FakeBinanceState
    package let exchange: SimulatedExchange

    /// Canned answers by endpoint (``FakeBinanceConfig/Override``), their bodies made once.
    let overrides: [String: (status: Int, headers: [(String, String)], body: [UInt8])]

    /// The bulk archive, served under `/data/…` at no weight.
    let archive: FakeArchive

    package init(state: FakeBinanceState) {
        self.state = state
        exchange = SimulatedExchange(config: state.config.market)
        archive = FakeArchive(exchange: exchange, state: state)
        var overrides: [String: (status: Int, headers: [(String, String)], body: [UInt8])] = [:]
        for canned in state.config.overrides {
            overrides[canned.endpoint] = (
                canned.status, canned.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, canned.bytes
            )
        }
        self.overrides = overrides
    }

    /// COIN-M's largest startTime–endTime span.
    static let coinmWindowMs: Int64 = 200 * Timeframe.dayMs

    /// Answers `GET path?query`.
    /// - Parameters:
    ///   - client: who asks (the `X-Client` header), for the per-client weight count.
    ///   - address: the client's IP address: whose weight budget the request is charged to.
    package func respond(
        path: String, query: String, client: String = "tool", address: String = "127.0.0.1"
    ) -> FakeResponse {
        if path.hasPrefix("/data/") { return archive.respond(path: path) }
        let market: MarketKind
        let endpoint: Substring
        if path.hasPrefix("/api/v3/") {
            market = .spot
            endpoint = path.dropFirst("/api/v3/".count)
        } else if path.hasPrefix("/fapi/v1/") {
            market = .usdm
            endpoint = path.dropFirst("/fapi/v1/".count)
        } else if path.hasPrefix("/dapi/v1/") {
            market = .coinm
            endpoint = path.dropFirst("/dapi/v1/".count)
        } else {
            return FakeResponse(
                status: 404, headers: [("Content-Type", "text/html")],
                body: Array("<html><body><h1>404 Not Found</h1></body></html>".utf8))
        }
        let params = Self.parse(query)
        let weight: Int
        switch endpoint {
        case "ping", "time": weight = 1
        case "exchangeInfo": weight = market == .spot ? 20 : 1
        case "klines":
            let limit = params["limit"].flatMap { Int($0) } ?? 500
            weight = market.klinesWeight(limit: limit)
        default:
            return FakeResponse(
                status: 404, headers: [("Content-Type", "text/html")],
                body: Array("<html><body><h1>404 Not Found</h1></body></html>".utf8))
        }
        if let canned = overrides[String(endpoint)] {
            return FakeResponse(
                status: canned.status, headers: [("Content-Type", "application/json;charset=UTF-8")] + canned.headers,
                body: canned.body)
        }
        let suffix = state.config.weight.headerSuffix
        func withWeight(_ response: FakeResponse, used: Int) -> FakeResponse {
            var response = response
            response.headers.append(("x-mbx-used-weight", String(used)))
            response.headers.append(("x-mbx-used-weight-\(suffix)", String(used)))
            return response
        }
        switch state.admit(
            weight: weight, isKlines: endpoint == "klines", path: query.isEmpty ? path : path + "?" + query,
            client: client, address: address)
        {
        case .rateLimited(let used, let retryAfter):
            var response = FakeResponse.error(
                429, code: -1003,
                "Too much request weight used; current limit is \(state.config.weight.limit) request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            )
            response.headers.append(("Retry-After", String(retryAfter)))
            return withWeight(response, used: used)
        case .banned(let used, let until, let retryAfter):
            var response = FakeResponse.error(
                418, code: -1003,
                "Way too much request weight used; IP banned until \(until). Please use WebSocket Streams for live updates to avoid bans."
            )
            response.headers.append(("Retry-After", String(retryAfter)))
            return withWeight(response, used: used)
        case .admitted(let used):
            if let fault = state.drawFault() {
                switch fault {
                case .serverErrorJSON:
                    return withWeight(
                        .error(503, code: -1001, "Internal error; unable to process your request. Please try again."),
                        used: used)
                case .serverErrorHTML:
                    return withWeight(
                        FakeResponse(
                            status: 502, headers: [("Content-Type", "text/html")],
                            body: Array(
                                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
                                    .utf8)), used: used)
                case .reset, .slow, .truncated:
                    var response = withWeight(handle(market: market, endpoint: endpoint, params: params), used: used)
                    response.fault = fault
                    return response
                }
            }
            return withWeight(handle(market: market, endpoint: endpoint, params: params), used: used)
        }
    }

    func handle(market: MarketKind, endpoint: Substring, params: [String: String]) -> FakeResponse {
        switch endpoint {
        case "ping": return .json(200, "{}")
        case "time": return .json(200, #"{"serverTime":\#(state.serverTime())}"#)
        case "exchangeInfo":
            return .json(200, ExchangeInfoDocument.json(market: market, state: state, exchange: exchange))
        default: return klines(market: market, params: params)
        }
    }

    func klines(market: MarketKind, params: [String: String]) -> FakeResponse {
        guard let symbol = params["symbol"], !symbol.isEmpty else {
            return .error(400, code: -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        }
        guard symbol.count <= 20, symbol.allSatisfy({ $0.isASCIIUpper || $0.isASCIIDigit || "-_.".contains($0) }) else {
            return .error(
                400, code: -1100,
                "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.")
        }
        guard let intervalText = params["interval"], !intervalText.isEmpty else {
            return .error(
                400, code: -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.")
        }
        guard let timeframe = Timeframe(rawValue: intervalText), timeframe.isAvailable(on: market) else {
            return .error(400, code: -1120, "Invalid interval.")
        }
        var numbers: [String: Int64] = [:]
        for key in ["startTime", "endTime", "limit"] {
            guard let text = params[key] else { continue }
            guard !text.isEmpty, text.count <= 20, text.allSatisfy(\.isASCIIDigit), let value = Int64(text) else {
                return .error(
                    400, code: -1100, "Illegal characters found in parameter '\(key)'; legal range is '^[0-9]{1,20}$'.")
            }
            numbers[key] = value
        }
        let limit = Int(numbers["limit"] ?? 500)
        guard (1...market.maxBatchLimit).contains(limit) else {
            return .error(400, code: -1130, "Data sent for parameter 'limit' is not valid.")
        }
        guard let instrument = exchange.instrument(market, symbolId: symbol) else {
            return .error(400, code: -1121, "Invalid symbol.")
        }
        if let s = numbers["startTime"], let e = numbers["endTime"], s > e {
            return .error(400, code: -1023, "Start time is greater than end time.")
        }
        // COIN-M refuses a startTime–endTime span over its 200-day window.
        if market == .coinm, let s = numbers["startTime"], let e = numbers["endTime"], e - s > Self.coinmWindowMs {
            return .error(400, code: -1130, "Data sent for parameter 'startTime' is not valid.")
        }
        let key = [
            market.rawValue, symbol, intervalText, "\(numbers["startTime"] ?? -1)",
            "\(numbers["endTime"] ?? -1)", "\(limit)",
        ].joined(separator: " ")
        return .json(200, state.page(key) { Self.encode(rows(market, instrument, timeframe, numbers, limit: limit)) })
    }

    func rows(
        _ market: MarketKind, _ instrument: MarketConfig.Instrument, _ timeframe: Timeframe, _ numbers: [String: Int64],
        limit: Int
    ) -> [Kline] {
        var start = numbers["startTime"]
        var end = numbers["endTime"]
        let now = state.serverTime()
        let rows: [Kline]
        if market == .coinm {
            // COIN-M: a window of at most 200 days, and within it the newest `limit` rows.
            if let s = start, end == nil { end = min(s + Self.coinmWindowMs, now) }
            if start == nil, let e = end { start = e - Self.coinmWindowMs }
            if let s = start, let e = end {
                rows = newest(instrument, timeframe, start: s, end: e, limit: limit, now: now)
            } else {
                rows = exchange.klines(
                    instrument, timeframe, startTime: nil, endTime: nil, limit: limit, serverTime: now)
            }
        } else {
            rows = exchange.klines(instrument, timeframe, startTime: start, endTime: end, limit: limit, serverTime: now)
        }
        return rows
    }

    /// The newest `limit` candles with `start ≤ open ≤ end` (COIN-M's window semantics).
    func newest(
        _ instrument: MarketConfig.Instrument, _ timeframe: Timeframe, start: Int64, end: Int64, limit: Int,
        now: Int64
    ) -> [Kline] {
        let grid = exchange.grid(instrument, timeframe)
        var index = grid.index(containing: min(end, now))
        let first = grid.ceilIndex(max(0, start))
        var opens: [Int64] = []
        while index >= first && opens.count < limit {
            let open = grid.openTime(ofIndex: index)
            if exchange.hasCandle(instrument, timeframe, openTime: open) { opens.append(open) }
            index -= 1
        }
        guard let oldest = opens.last else { return [] }
        return Array(
            exchange.klines(
                instrument, timeframe, startTime: oldest, endTime: min(end, now), limit: 1500, serverTime: now
            ).suffix(limit))
    }

    /// Binance's klines JSON: `[[open,"o","h","l","c","v",close,"qv",trades,"tbb","tbq","0"],…]`.
    package static func encode(_ rows: [Kline]) -> String {
        var out = "["
        out.reserveCapacity(rows.count * 180 + 2)
        for (i, k) in rows.enumerated() {
            if i > 0 { out += "," }
            out +=
                "[\(k.openTime),\"\(k.open)\",\"\(k.high)\",\"\(k.low)\",\"\(k.close)\",\"\(k.volume)\",\(k.closeTime),\"\(k.quoteVolume)\",\(k.trades),\"\(k.takerBuyBaseVolume)\",\"\(k.takerBuyQuoteVolume)\",\"0\"]"
        }
        return out + "]"
    }

    static func parse(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for part in query.split(separator: "&") {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(pieces[0]).removingPercentEncoding ?? String(pieces[0])
            let value = pieces.count > 1 ? (String(pieces[1]).removingPercentEncoding ?? String(pieces[1])) : ""
            result[key] = value
        }
        return result
    }
}
