/// The deterministic in-process market behind `exchange: simulated`.
///
/// It behaves like Binance where it matters to a backfiller: instruments with listing (and one delisting) times,
/// exchange-wide maintenance gaps in which no candle is generated, flat zero-volume candles, all 16 timeframes on
/// Binance's grids, candles open at "now" served with partial values, and prices as 8-decimal strings. Everything
/// is a pure function of (symbol, timeframe, open time): no state, no clock, no floating point, so the same query
/// gives the same bytes on every machine, and `plan`/`apply` can run offline in the README's demo and in tests.
package struct SimulatedExchange: Sendable {
    /// The instruments, per market family.
    package static let instruments: [Instrument] = [
        Instrument("BTC/USDT", "BTCUSDT", .spot, listed: 1_502_942_400_000, basePrice: 30_000),
        Instrument("ETH/USDT", "ETHUSDT", .spot, listed: 1_502_942_400_000, basePrice: 2_000),
        Instrument("BNB/USDT", "BNBUSDT", .spot, listed: 1_509_940_800_000, basePrice: 300),
        Instrument("ADA/USDT", "ADAUSDT", .spot, listed: 1_523_937_720_000, basePrice: 1),
        Instrument("XRP/USDT", "XRPUSDT", .spot, listed: 1_525_420_800_000, basePrice: 1),
        Instrument("DOGE/USDT", "DOGEUSDT", .spot, listed: 1_562_328_000_000, basePrice: 1),
        Instrument("SOL/USDT", "SOLUSDT", .spot, listed: 1_597_125_600_000, basePrice: 100),
        Instrument(
            "LUNA/USDT", "LUNAUSDT", .spot, listed: 1_597_881_600_000, basePrice: 50,
            delisted: 1_652_400_000_000),
        Instrument("BTC/USDT:USDT", "BTCUSDT", .usdm, listed: 1_567_965_420_000, basePrice: 30_000),
        Instrument("ETH/USDT:USDT", "ETHUSDT", .usdm, listed: 1_574_830_800_000, basePrice: 2_000),
        Instrument("SOL/USDT:USDT", "SOLUSDT", .usdm, listed: 1_600_150_400_000, basePrice: 100),
        Instrument("BTC/USD:BTC", "BTCUSD_PERP", .coinm, listed: 1_597_042_800_000, basePrice: 30_000),
        Instrument("ETH/USD:ETH", "ETHUSD_PERP", .coinm, listed: 1_597_042_800_000, basePrice: 2_000),
    ]

    /// Exchange-wide maintenance windows: no candle whose whole span lies inside one is generated. The first four
    /// are real Binance spot outages; the last is invented so the demo range shows one.
    package static let maintenanceGaps: [TimeRange] = [
        TimeRange(uncheckedLower: 1_518_048_900_000, upper: 1_518_170_400_000),  // 2018-02-08 00:15 → 02-09 10:00
        TimeRange(uncheckedLower: 1_557_889_200_000, upper: 1_557_925_200_000),  // 2019-05-15 03:00 → 13:00
        TimeRange(uncheckedLower: 1_582_112_100_000, upper: 1_582_133_400_000),  // 2020-02-19 11:35 → 17:30
        TimeRange(uncheckedLower: 1_619_323_200_000, upper: 1_619_340_300_000),  // 2021-04-25 04:00 → 08:45
        TimeRange(uncheckedLower: 1_707_876_000_000, upper: 1_707_885_000_000),  // 2024-02-14 02:00 → 04:30
    ]

    /// One simulated instrument.
    package struct Instrument: Sendable, Hashable {
        package var symbol: String
        package var symbolId: String
        package var market: MarketKind
        package var listedAtMs: Int64
        package var delistedAtMs: Int64?
        /// The price level in whole quote units around which the price wanders.
        package var basePrice: Int64

        init(
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
    }

    package init() {}

    /// The markets of one family, as an exchangeInfo would list them.
    package func markets(_ market: MarketKind) -> [Market] {
        Self.instruments.filter { $0.market == market }.map(\.asMarket)
    }

    package func instrument(_ market: MarketKind, symbolId: String) -> Instrument? {
        Self.instruments.first { $0.market == market && $0.symbolId == symbolId }
    }

    /// Whether the exchange has a candle opening at aligned `openTime`.
    package func hasCandle(_ instrument: Instrument, _ timeframe: Timeframe, openTime: Int64) -> Bool {
        let next = timeframe.advance(openTime, by: 1)
        guard next > instrument.listedAtMs else { return false }
        if let delisted = instrument.delistedAtMs, openTime >= delisted { return false }
        let span = TimeRange(uncheckedLower: openTime, upper: next)
        return !Self.maintenanceGaps.contains { $0.lowerBound <= span.lowerBound && span.upperBound <= $0.upperBound }
    }

    /// Binance's klines semantics: candles with `startTime ≤ open ≤ endTime` (either bound optional), ascending, at
    /// most `limit`, and only those open by `serverTime`; the candle open at `serverTime` comes with partial values.
    package func klines(
        _ instrument: Instrument, _ timeframe: Timeframe, startTime: Int64?, endTime: Int64?,
        limit: Int, serverTime: Int64
    ) -> [Kline] {
        let last = min(endTime ?? serverTime, serverTime)
        var index: Int64
        if let startTime {
            index = timeframe.ceilIndex(max(startTime, 0))
        } else {
            // Most recent `limit` candles up to `last`.
            index = timeframe.index(containing: last) - Int64(limit) + 1
        }
        var rows: [Kline] = []
        rows.reserveCapacity(min(limit, 1500))
        var openTime = timeframe.openTime(ofIndex: index)
        var scanned = 0
        while openTime <= last && rows.count < limit && scanned < 1_000_000 {
            if hasCandle(instrument, timeframe, openTime: openTime) {
                rows.append(candle(instrument, timeframe, openTime: openTime, serverTime: serverTime))
            }
            index += 1
            scanned += 1
            openTime = timeframe.openTime(ofIndex: index)
        }
        return rows
    }

    /// The open time of the pair's first candle (the listing as `earliest` sees it).
    package func firstCandle(_ instrument: Instrument, _ timeframe: Timeframe) -> Int64 {
        timeframe.floor(instrument.listedAtMs)
    }

    /// The candle opening at aligned `openTime`; partial when it is still open at `serverTime`.
    package func candle(_ instrument: Instrument, _ timeframe: Timeframe, openTime: Int64, serverTime: Int64) -> Kline {
        let closeAt = timeframe.advance(openTime, by: 1)
        let seed = Self.mix(Self.fnv(instrument.symbolId) ^ Self.fnv(timeframe.rawValue) ^ UInt64(bitPattern: openTime))
        let open = price(instrument, at: openTime)
        let flat = seed % 97 == 0
        let close = flat ? open : price(instrument, at: min(closeAt, max(serverTime, openTime)))
        let spread = flat ? 0 : Int64(seed >> 8 % 2_000)
        let high = max(open, close) + max(open, close) / 1_000_000 * spread
        let low = min(open, close) - min(open, close) / 1_000_000 * spread
        let minutes = max(1, (closeAt - openTime) / Timeframe.minuteMs)
        let volumeUnits = flat ? 0 : Int64(1 + (seed >> 20) % 5_000) * minutes
        // volume in 1e-8 base units: the same quote value per unit whatever the price level
        let volume = volumeUnits * (300_000_000 / max(1, instrument.basePrice))
        let mid = (high + low) / 2
        let quote = Int64(Int128(volume) * Int128(mid) / 100_000_000)
        let takerShare = Int64((seed >> 40) % 1_001)
        let trades = flat ? 0 : volumeUnits / 7 + 1
        return Kline(
            openTime: openTime, open: Self.decimal(open), high: Self.decimal(high), low: Self.decimal(low),
            close: Self.decimal(close), volume: Self.decimal(volume), closeTime: closeAt - 1,
            quoteVolume: Self.decimal(quote), trades: trades,
            takerBuyBaseVolume: Self.decimal(volume / 1_000 * takerShare),
            takerBuyQuoteVolume: Self.decimal(quote / 1_000 * takerShare))
    }

    /// The price in 1e-8 quote units at instant `t`: the base price moved by piecewise-linear noise at four
    /// scales (30 days, 1 day, 1 hour, 1 minute), integer arithmetic only.
    package func price(_ instrument: Instrument, at t: Int64) -> Int64 {
        let key = Self.fnv(instrument.symbol)
        func noise(_ period: Int64, _ salt: UInt64) -> Int64 {
            let k = floorDiv(t, period)
            let fraction = t - k * period
            func knot(_ i: Int64) -> Int64 { Int64(Self.mix(key ^ salt ^ UInt64(bitPattern: i)) % 2_001) - 1_000 }
            return (knot(k) * (period - fraction) + knot(k + 1) * fraction) / period
        }
        let perMillion =
            1_000_000 + 300 * noise(30 * Timeframe.dayMs, 1) + 50 * noise(Timeframe.dayMs, 2)
            + 5 * noise(Timeframe.hourMs, 3) + noise(Timeframe.minuteMs, 4) / 2
        return instrument.basePrice * 100 * perMillion
    }

    /// Formats 1e-8 units as a decimal string with 8 places, as Binance sends spot values.
    package static func decimal(_ units: Int64) -> String {
        let whole = units / 100_000_000
        let fraction = String(units % 100_000_000)
        return "\(whole)." + String(repeating: "0", count: 8 - fraction.count) + fraction
    }

    static func fnv(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    /// SplitMix64's finaliser.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
