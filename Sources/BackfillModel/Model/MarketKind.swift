/// The Binance market family a plan targets.
package enum MarketKind: String, CaseIterable, Sendable, Codable, Hashable {
    case spot
    case usdm
    case coinm

    /// The most candles one klines request may ask for.
    package var maxBatchLimit: Int { self == .spot ? 1000 : 1500 }

    /// The default candles per request: spot's maximum, and 499 on futures (weight 2 per 499 candles is the most
    /// candles per weight unit).
    package var defaultBatchLimit: Int { self == .spot ? 1000 : 499 }

    /// The ccxt exchange id used in watermark names (`binance`, `binanceusdm`, `binancecoinm`).
    package var ccxtExchangeId: String {
        switch self {
        case .spot: "binance"
        case .usdm: "binanceusdm"
        case .coinm: "binancecoinm"
        }
    }

    /// The request weight of one klines call with the given `limit` (spot: 2 flat; futures: 1/2/5/10 by limit).
    package func klinesWeight(limit: Int) -> Int {
        switch self {
        case .spot: return 2
        case .usdm, .coinm:
            switch limit {
            case ..<100: return 1
            case ..<500: return 2
            case ...1000: return 5
            default: return 10
            }
        }
    }
}

/// Where candles come from: the real Binance API or the deterministic in-process market.
package enum ExchangeKind: String, CaseIterable, Sendable, Codable, Hashable {
    case binance
    case simulated
}

/// Which columns the landing CSV files carry.
package enum ColumnSet: String, CaseIterable, Sendable, Codable, Hashable {
    case basic
    case full
}
