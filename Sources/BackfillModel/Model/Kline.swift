/// One candle as Binance sends it: times as integers, every price and volume as the exchange's decimal string,
/// kept byte-exact (never through a binary floating-point type).
package struct Kline: Sendable, Hashable {
    package var openTime: Int64
    package var open: String
    package var high: String
    package var low: String
    package var close: String
    package var volume: String
    package var closeTime: Int64
    package var quoteVolume: String
    package var trades: Int64
    package var takerBuyBaseVolume: String
    package var takerBuyQuoteVolume: String

    package init(
        openTime: Int64, open: String, high: String, low: String, close: String, volume: String,
        closeTime: Int64, quoteVolume: String, trades: Int64, takerBuyBaseVolume: String,
        takerBuyQuoteVolume: String
    ) {
        self.openTime = openTime
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.closeTime = closeTime
        self.quoteVolume = quoteVolume
        self.trades = trades
        self.takerBuyBaseVolume = takerBuyBaseVolume
        self.takerBuyQuoteVolume = takerBuyQuoteVolume
    }
}
