import BackfillModel
import Foundation

/// What the client needs from exchangeInfo: the markets and the request-weight limit.
package struct ExchangeInfo: Sendable, Equatable {
    package var markets: [Market]
    /// REQUEST_WEIGHT limit per window (0 when the exchange announces none).
    package var weightLimit: Int
    package var weightWindowMs: Int64
    package var serverTime: Int64?

    /// Parses Binance's exchangeInfo for one market family; symbols with unusable ids are skipped.
    /// - Throws: ``ExchangeError/invalidResponse(_:)`` when the document is not exchangeInfo.
    package static func parse(_ body: [UInt8], market: MarketKind) throws -> ExchangeInfo {
        guard let document = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let symbols = document["symbols"] as? [[String: Any]]
        else { throw ExchangeError.invalidResponse("exchangeInfo is not a JSON object with a 'symbols' list") }
        var weightLimit = 0
        var windowMs: Int64 = 60_000
        for limit in document["rateLimits"] as? [[String: Any]] ?? []
        where limit["rateLimitType"] as? String == "REQUEST_WEIGHT" {
            let count = (limit["intervalNum"] as? NSNumber)?.int64Value ?? 1
            let unit: Int64
            switch limit["interval"] as? String {
            case "SECOND": unit = 1000
            case "MINUTE": unit = 60_000
            case "HOUR": unit = 3_600_000
            case "DAY": unit = 86_400_000
            default: continue
            }
            weightLimit = (limit["limit"] as? NSNumber)?.intValue ?? 0
            windowMs = unit * max(1, count)
        }
        var markets: [Market] = []
        for entry in symbols {
            guard let id = entry["symbol"] as? String, UnifiedSymbol.isSafeSymbolId(id),
                let base = entry["baseAsset"] as? String, let quote = entry["quoteAsset"] as? String,
                !base.isEmpty, !quote.isEmpty
            else { continue }
            var unified = "\(base)/\(quote)"
            var listed: Int64?
            let status: String
            switch market {
            case .spot:
                status = entry["status"] as? String ?? "UNKNOWN"
            case .usdm, .coinm:
                guard let settle = entry["marginAsset"] as? String else { continue }
                unified += ":\(settle)"
                if let contract = entry["contractType"] as? String, contract != "PERPETUAL",
                    let delivery = (entry["deliveryDate"] as? NSNumber)?.int64Value
                {
                    let date = CivilDate(epochMs: delivery)
                    unified +=
                        "-" + String(format: "%02d%02d%02d", Int(date.year % 100), Int(date.month), Int(date.day))
                }
                status = (entry["status"] as? String) ?? (entry["contractStatus"] as? String) ?? "UNKNOWN"
                listed = (entry["onboardDate"] as? NSNumber)?.int64Value
            }
            guard UnifiedSymbol.isWellFormed(unified) else { continue }
            markets.append(Market(symbol: unified, symbolId: id, market: market, status: status, listedAtMs: listed))
        }
        return ExchangeInfo(
            markets: markets, weightLimit: weightLimit, weightWindowMs: windowMs,
            serverTime: (document["serverTime"] as? NSNumber)?.int64Value)
    }
}
