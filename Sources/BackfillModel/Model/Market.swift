/// One tradable instrument as the exchange lists it: unified symbol, exchange id, status and listing time.
package struct Market: Sendable, Hashable, Codable {
    /// The unified (ccxt) symbol, e.g. `BTC/USDT`, `BTC/USDT:USDT`, `BTC/USD:BTC`.
    package var symbol: String
    /// The exchange id, e.g. `BTCUSDT`, `BTCUSD_PERP`.
    package var symbolId: String
    package var market: MarketKind
    /// The exchange's status string (`TRADING`, `BREAK`, …).
    package var status: String
    /// The open time of the first candle, when known (futures: `onboardDate`; spot: discovered once).
    package var listedAtMs: Int64?

    package init(symbol: String, symbolId: String, market: MarketKind, status: String, listedAtMs: Int64?) {
        self.symbol = symbol
        self.symbolId = symbolId
        self.market = market
        self.status = status
        self.listedAtMs = listedAtMs
    }
}

/// A `{symbol, timeframe}` pair: the unit of coverage, watermarks and planning.
package struct Pair: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package var symbol: String
    package var timeframe: Timeframe

    package init(symbol: String, timeframe: Timeframe) {
        self.symbol = symbol
        self.timeframe = timeframe
    }

    package var description: String { "\(symbol) \(timeframe.rawValue)" }

    package static func < (lhs: Pair, rhs: Pair) -> Bool {
        (lhs.symbol, lhs.timeframe) < (rhs.symbol, rhs.timeframe)
    }
}

/// Unified-symbol syntax: `BASE/QUOTE`, optionally `:SETTLE` and a `-YYMMDD` delivery suffix.
package enum UnifiedSymbol {
    /// Whether `symbol` is a well-formed unified symbol. Upper-case letters and digits only, so nothing path-like
    /// (`/` appears exactly once, between base and quote, and is never used in file names).
    package static func isWellFormed(_ symbol: String) -> Bool {
        let parts = symbol.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, isCode(parts[0]) else { return false }
        var rest = Substring(parts[1])
        if let dash = rest.firstIndex(of: "-") {
            let suffix = rest[rest.index(after: dash)...]
            guard suffix.count == 6, suffix.allSatisfy(\.isASCIIDigit) else { return false }
            rest = rest[..<dash]
        }
        let settle = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard settle.count <= 2 else { return false }
        return settle.allSatisfy(isCode)
    }

    private static func isCode(_ s: Substring) -> Bool {
        !s.isEmpty && s.count <= 20 && s.allSatisfy { $0.isASCIIUpper || $0.isASCIIDigit }
    }

    /// Whether `id` is safe as an exchange symbol id and a path component (Binance's `^[A-Z0-9-_.]{1,20}$`,
    /// without `.` so `.`/`..` cannot occur).
    package static func isSafeSymbolId(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 30
            && id.allSatisfy { $0.isASCIIUpper || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
    }
}

extension Character {
    package var isASCIIDigit: Bool { isASCII && isNumber }
    package var isASCIIUpper: Bool { isASCII && isUppercase }
}

extension Market {
    /// Whether the exchange lists the market as trading (Binance status `TRADING`); delisted (`BREAK`, `SETTLING`,
    /// `CLOSE`) and halted markets are not.
    package var isTrading: Bool { status == "TRADING" }
}
