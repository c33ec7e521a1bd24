/// The deterministic simulated market behind `exchange: simulated` and the fake Binance server.
///
/// It behaves like Binance where it matters to a backfiller: instruments with listing (and delisting) times,
/// maintenance gaps in which no candle is generated, flat zero-volume candles, off-grid candles, all 16 timeframes
/// on Binance's grids, the candle open at "now" served with partial values, and prices as 8-decimal strings.
/// Everything is a pure function of (config, symbol, timeframe, open time): no state, no clock, no floating point,
/// so the same query gives the same bytes on every machine.
package struct SimulatedExchange: Sendable {
    package typealias Instrument = MarketConfig.Instrument

    package let config: MarketConfig

    /// The instruments of the standard market.
    package static var instruments: [Instrument] { MarketConfig.standard.instruments }

    package init(config: MarketConfig = .standard) {
        self.config = config
    }

    /// The markets of one family, as an exchangeInfo would list them.
    package func markets(_ market: MarketKind) -> [Market] {
        config.instruments.filter { $0.market == market }.map(\.asMarket)
    }

    package func instrument(_ market: MarketKind, symbolId: String) -> Instrument? {
        config.instruments.first { $0.market == market && $0.symbolId == symbolId }
    }

    /// The grid `instrument`'s candles of `timeframe` open on (`3d` from its first trading day, as Binance cuts it).
    package func grid(_ instrument: Instrument, _ timeframe: Timeframe) -> CandleGrid {
        timeframe.grid(listedAtMs: instrument.listedAtMs)
    }

    /// Whether the exchange has a regular candle opening at aligned `openTime`.
    package func hasCandle(_ instrument: Instrument, _ timeframe: Timeframe, openTime: Int64) -> Bool {
        let next = grid(instrument, timeframe).advance(openTime, by: 1)
        guard next > instrument.listedAtMs else { return false }
        if let delisted = instrument.delistedAtMs, openTime >= delisted { return false }
        return !config.gaps.contains { gap in
            gap.applies(to: instrument) && gap.startMs <= openTime && next <= gap.endMs
        }
    }

    /// Binance's klines semantics: candles with `startTime ≤ open ≤ endTime` (either bound optional), ascending, at
    /// most `limit`, and only those open by `serverTime`; the candle open at `serverTime` comes with partial values.
    package func klines(
        _ instrument: Instrument, _ timeframe: Timeframe, startTime: Int64?, endTime: Int64?, limit: Int,
        serverTime: Int64
    ) -> [Kline] {
        let last = min(endTime ?? serverTime, serverTime)
        let grid = grid(instrument, timeframe)
        var index: Int64
        if let startTime {
            // Nothing exists before the listing: jump straight to it.
            index = max(grid.ceilIndex(max(startTime, 0)), grid.index(containing: instrument.listedAtMs))
        } else {
            // Most recent `limit` candles up to `last`.
            index = grid.index(containing: last) - Int64(limit) + 1
        }
        let first = startTime ?? grid.openTime(ofIndex: index)
        var extras = config.offGridCandles.filter {
            $0.market == instrument.market && $0.symbolId == instrument.symbolId && $0.timeframe == timeframe
                && $0.openMs >= first && $0.openMs <= last
        }.sorted { $0.openMs < $1.openMs }[...]
        var rows: [Kline] = []
        rows.reserveCapacity(min(limit, 1500))
        var openTime = grid.openTime(ofIndex: index)
        var scanned = 0
        while rows.count < limit && scanned < 2_000_000 {
            let gridOpen = openTime <= last ? openTime : Int64.max
            if let extra = extras.first, extra.openMs <= gridOpen {
                extras = extras.dropFirst()
                var row = candle(instrument, timeframe, openTime: extra.openMs, serverTime: serverTime)
                row.closeTime = extra.closeMs
                rows.append(row)
                if extra.openMs == gridOpen {
                    index += 1
                    openTime = grid.openTime(ofIndex: index)
                }
                continue
            }
            guard gridOpen != Int64.max, openTime < instrument.delistedAtMs ?? Int64.max else { break }
            if hasCandle(instrument, timeframe, openTime: openTime) {
                rows.append(candle(instrument, timeframe, openTime: openTime, serverTime: serverTime))
            }
            index += 1
            scanned += 1
            openTime = grid.openTime(ofIndex: index)
        }
        return rows
    }

    /// The open time of the pair's first candle (the listing as `earliest` sees it).
    package func firstCandle(_ instrument: Instrument, _ timeframe: Timeframe) -> Int64 {
        grid(instrument, timeframe).floor(instrument.listedAtMs)
    }

    /// The candle opening at `openTime`; partial when it is still open at `serverTime`.
    package func candle(_ instrument: Instrument, _ timeframe: Timeframe, openTime: Int64, serverTime: Int64) -> Kline {
        let grid = grid(instrument, timeframe)
        let closeAt = grid.advance(grid.floor(openTime), by: 1)
        // An instrument with `candles_as` gets the other one's candles: its prices and seeds come from it.
        let instrument =
            instrument.candlesAs.flatMap { twin in config.instruments.first { $0.symbol == twin } } ?? instrument
        let seed = Self.mix(
            config.seed ^ Self.fnv(instrument.symbolId) ^ Self.fnv(timeframe.rawValue) ^ UInt64(bitPattern: openTime))
        let open = price(instrument, at: openTime)
        let flat = config.flatEvery > 0 && seed % config.flatEvery == 0
        let close = flat ? open : price(instrument, at: min(closeAt, max(serverTime, openTime)))
        let spread = flat ? 0 : Int64((seed >> 8) % 2_000)
        let high = max(open, close) + max(open, close) / 1_000_000 * spread
        let low = min(open, close) - min(open, close) / 1_000_000 * spread
        let minutes = max(1, (closeAt - openTime) / Timeframe.minuteMs)
        let volumeUnits = flat ? 0 : Int64(1 + (seed >> 20) % 5_000) * minutes
        // Volume in 1e-8 base units: the same quote value per unit whatever the price level.
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
        let key = Self.fnv(instrument.symbol) ^ config.seed
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
