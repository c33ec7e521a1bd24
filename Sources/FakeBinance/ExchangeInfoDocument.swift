import BackfillModel
import Foundation

/// exchangeInfo as Binance shapes it per market family, complete enough for ccxt's `load_markets` to parse.
enum ExchangeInfoDocument {
    static func json(market: MarketKind, state: FakeBinanceState, exchange: SimulatedExchange) -> String {
        let window = state.config.weight.windowMs
        let (interval, intervalNum): (String, Int64) =
            window % 60_000 == 0 ? ("MINUTE", window / 60_000) : ("SECOND", max(1, window / 1000))
        let limit = state.config.weight.limit > 0 ? state.config.weight.limit : 1_000_000
        var document: [String: Any] = [
            "timezone": "UTC",
            "serverTime": state.serverTime(),
            "rateLimits": [
                ["rateLimitType": "REQUEST_WEIGHT", "interval": interval, "intervalNum": intervalNum, "limit": limit],
                ["rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100],
                ["rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300_000],
            ],
            "exchangeFilters": [Any](),
        ]
        let instruments = exchange.config.instruments.filter { $0.market == market }
        document["symbols"] = instruments.map { symbol(for: $0) }
        if market != .spot {
            document["assets"] = [Any]()
            document["futuresType"] = market == .usdm ? "U_MARGINED" : "COIN_MARGINED"
        }
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func symbol(for instrument: MarketConfig.Instrument) -> [String: Any] {
        let parts = instrument.symbol.split(separator: "/")
        let base = String(parts[0])
        let rest = parts.count > 1 ? String(parts[1]) : ""
        let quote = String(rest.split(separator: ":").first ?? "")
        let settle = rest.contains(":") ? String(rest.split(separator: ":").last ?? "") : quote
        let trading = instrument.delistedAtMs == nil
        let filters: [[String: Any]] = [
            [
                "filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            ],
            ["filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"],
            [
                "filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000",
                "stepSize": "0.00000000",
            ],
            [
                "filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true,
                "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5,
            ],
        ]
        switch instrument.market {
        case .spot:
            return [
                "symbol": instrument.symbolId, "status": trading ? "TRADING" : "BREAK", "baseAsset": base,
                "baseAssetPrecision": 8, "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
                "icebergAllowed": true, "ocoAllowed": true, "otoAllowed": true, "quoteOrderQtyMarketAllowed": true,
                "allowTrailingStop": true, "cancelReplaceAllowed": true, "amendAllowed": true,
                "isSpotTradingAllowed": true, "isMarginTradingAllowed": false, "filters": filters,
                "permissions": [Any](), "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
            ]
        case .usdm, .coinm:
            var entry: [String: Any] = [
                "symbol": instrument.symbolId, "pair": base + quote, "contractType": "PERPETUAL",
                "deliveryDate": 4_133_404_800_000, "onboardDate": instrument.listedAtMs,
                "baseAsset": base, "quoteAsset": quote, "marginAsset": settle, "pricePrecision": 2,
                "quantityPrecision": 3, "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
                "underlyingSubType": ["PoW"], "triggerProtect": "0.0500", "liquidationFee": "0.012500",
                "marketTakeBound": "0.05", "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
                "filters": filters, "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            ]
            if instrument.market == .usdm {
                entry["status"] = trading ? "TRADING" : "SETTLING"
                entry["settlePlan"] = 0
            } else {
                entry["contractStatus"] = trading ? "TRADING" : "SETTLING"
                entry["contractSize"] = 100
                entry["equalQtyPrecision"] = 4
            }
            return entry
        }
    }
}
