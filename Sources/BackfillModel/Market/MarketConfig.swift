/// A simulated market: instruments, gaps, off-grid candles and the seed its prices come from.
///
/// `exchange: simulated` uses ``standard``; the fake Binance server reads one from its JSON config file, so a test
/// can describe exactly the market it needs.
package struct MarketConfig: Sendable, Codable, Equatable {
    package var seed: UInt64
    package var instruments: [Instrument]
    package var gaps: [Gap]
    package var offGridCandles: [OffGridCandle]
    /// About one candle in `flatEvery` is a flat zero-volume candle (0 = none).
    package var flatEvery: UInt64

    package init(
        seed: UInt64 = 0, instruments: [Instrument], gaps: [Gap] = [], offGridCandles: [OffGridCandle] = [],
        flatEvery: UInt64 = 97
    ) {
        self.seed = seed
        self.instruments = instruments
        self.gaps = gaps
        self.offGridCandles = offGridCandles
        self.flatEvery = flatEvery
    }

    /// One instrument.
    package struct Instrument: Sendable, Hashable, Codable {
        package var symbol: String
        package var symbolId: String
        package var market: MarketKind
        package var listedAtMs: Int64
        package var delistedAtMs: Int64?
        /// The price level in whole quote units around which the price wanders.
        package var basePrice: Int64
        /// Candles identical to those of the instrument with this unified symbol (same prices, volumes, trades):
        /// two series whose files have the same bytes, as flat stretches of delisted pairs do.
        package var candlesAs: String?

        package init(
            _ symbol: String, _ symbolId: String, _ market: MarketKind, listed: Int64, basePrice: Int64,
            delisted: Int64? = nil
        ) {
            self.symbol = symbol
            self.symbolId = symbolId
            self.market = market
            self.listedAtMs = listed
            self.delistedAtMs = delisted
            self.basePrice = basePrice
        }

        package var asMarket: Market {
            Market(
                symbol: symbol, symbolId: symbolId, market: market, status: delistedAtMs == nil ? "TRADING" : "BREAK",
                listedAtMs: listedAtMs)
        }

        private enum CodingKeys: String, CodingKey {
            case symbol, market
            case symbolId = "symbol_id"
            case listedAtMs = "listed_ms"
            case delistedAtMs = "delisted_ms"
            case basePrice = "base_price"
            case candlesAs = "candles_as"
        }
    }

    /// A window with no candles: exchange-wide, or for one symbol id (on one market family, or all).
    package struct Gap: Sendable, Hashable, Codable {
        package var startMs: Int64
        package var endMs: Int64
        package var symbolId: String?
        package var market: MarketKind?

        package init(_ startMs: Int64, _ endMs: Int64, symbolId: String? = nil, market: MarketKind? = nil) {
            self.startMs = startMs
            self.endMs = endMs
            self.symbolId = symbolId
            self.market = market
        }

        package func applies(to instrument: Instrument) -> Bool {
            (symbolId == nil || symbolId == instrument.symbolId) && (market == nil || market == instrument.market)
        }

        private enum CodingKeys: String, CodingKey {
            case market
            case startMs = "start_ms"
            case endMs = "end_ms"
            case symbolId = "symbol_id"
        }
    }

    /// A candle Binance served off the grid or with a truncated close (2017–2018 maintenance); one with a grid open
    /// time replaces the regular candle.
    package struct OffGridCandle: Sendable, Hashable, Codable {
        package var market: MarketKind
        package var symbolId: String
        package var timeframe: Timeframe
        package var openMs: Int64
        package var closeMs: Int64

        package init(market: MarketKind, symbolId: String, timeframe: Timeframe, openMs: Int64, closeMs: Int64) {
            self.market = market
            self.symbolId = symbolId
            self.timeframe = timeframe
            self.openMs = openMs
            self.closeMs = closeMs
        }

        private enum CodingKeys: String, CodingKey {
            case market, timeframe
            case symbolId = "symbol_id"
            case openMs = "open_ms"
            case closeMs = "close_ms"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case seed, instruments, gaps
        case offGridCandles = "off_grid_candles"
        case flatEvery = "flat_every"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        instruments = try c.decodeIfPresent([Instrument].self, forKey: .instruments) ?? Self.standard.instruments
        gaps = try c.decodeIfPresent([Gap].self, forKey: .gaps) ?? []
        offGridCandles = try c.decodeIfPresent([OffGridCandle].self, forKey: .offGridCandles) ?? []
        flatEvery = try c.decodeIfPresent(UInt64.self, forKey: .flatEvery) ?? 97
    }

    /// The market behind `exchange: simulated` and the fake server's default.
    package static let standard = MarketConfig(
        instruments: [
            Instrument("BTC/USDT", "BTCUSDT", .spot, listed: 1_502_942_400_000, basePrice: 30_000),
            Instrument("ETH/USDT", "ETHUSDT", .spot, listed: 1_502_942_400_000, basePrice: 2_000),
            Instrument("BNB/USDT", "BNBUSDT", .spot, listed: 1_509_940_800_000, basePrice: 300),
            Instrument("ADA/USDT", "ADAUSDT", .spot, listed: 1_523_937_720_000, basePrice: 1),
            Instrument("XRP/USDT", "XRPUSDT", .spot, listed: 1_525_420_800_000, basePrice: 1),
            Instrument("DOGE/USDT", "DOGEUSDT", .spot, listed: 1_562_328_000_000, basePrice: 1),
            Instrument("SOL/USDT", "SOLUSDT", .spot, listed: 1_597_125_600_000, basePrice: 100),
            Instrument(
                "LUNA/USDT", "LUNAUSDT", .spot, listed: 1_597_881_600_000, basePrice: 50, delisted: 1_652_400_000_000),
            Instrument("BTC/USDT:USDT", "BTCUSDT", .usdm, listed: 1_567_965_420_000, basePrice: 30_000),
            Instrument("ETH/USDT:USDT", "ETHUSDT", .usdm, listed: 1_574_830_800_000, basePrice: 2_000),
            Instrument("SOL/USDT:USDT", "SOLUSDT", .usdm, listed: 1_600_150_400_000, basePrice: 100),
            Instrument("BTC/USD:BTC", "BTCUSD_PERP", .coinm, listed: 1_597_042_800_000, basePrice: 30_000),
            Instrument("ETH/USD:ETH", "ETHUSD_PERP", .coinm, listed: 1_597_042_800_000, basePrice: 2_000),
        ],
        // Exchange-wide maintenance windows: the first four are real Binance spot outages; the last is invented so
        // the demo range shows one.
        gaps: [
            Gap(1_518_048_900_000, 1_518_170_400_000),  // 2018-02-08 00:15 → 02-09 10:00
            Gap(1_557_889_200_000, 1_557_925_200_000),  // 2019-05-15 03:00 → 13:00
            Gap(1_582_112_100_000, 1_582_133_400_000),  // 2020-02-19 11:35 → 17:30
            Gap(1_619_323_200_000, 1_619_340_300_000),  // 2021-04-25 04:00 → 08:45
            Gap(1_707_876_000_000, 1_707_885_000_000),  // 2024-02-14 02:00 → 04:30
        ],
        // Binance's own irregular candles around the 2018 maintenance (binance-public-data#77): a 1h candle closed
        // 14.8 s after it opened, and one that opened off the grid when trading resumed.
        offGridCandles: [
            OffGridCandle(
                market: .spot, symbolId: "BTCUSDT", timeframe: .h1, openMs: 1_515_034_800_000,
                closeMs: 1_515_034_814_838),
            OffGridCandle(
                market: .spot, symbolId: "BTCUSDT", timeframe: .h1, openMs: 1_518_168_494_789,
                closeMs: 1_518_170_399_999),
        ])
}
