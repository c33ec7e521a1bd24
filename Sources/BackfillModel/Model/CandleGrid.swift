/// The open times one pair's candles of one timeframe fall on, indexed by integers: candle `i` opens at
/// ``openTime(ofIndex:)`` and the next one at `openTime(ofIndex: i + 1)`.
///
/// Fixed-length timeframes are `origin + i × duration`. For every timeframe but `3d` the origin is the same for all
/// symbols: the epoch, except `1w`, whose origin is Monday 1970-01-05 00:00 UTC (Binance weeks open on Mondays).
/// `3d` is cut per symbol: Binance's three-day candles open at 00:00 UTC of the symbol's first trading day and step
/// by three days from there (BTCUSDT 2017-08-17, XRPUSDT 2018-05-04: day numbers 1 and 0 modulo 3;
/// `../shared/binance-api.md` §6), so its origin is that day modulo three days. `1M` counts calendar months since
/// January 1970. Chunking, candle counts and alignment checks all go through the index, so neither the irregular
/// `1M` grid nor the per-symbol `3d` grid needs a special case anywhere else.
package struct CandleGrid: Sendable, Hashable {
    package let timeframe: Timeframe
    /// The open time of index 0 for fixed-length timeframes (unused for `1M`).
    package let originMs: Int64

    /// The grid of `timeframe` for a pair whose first candle opened at `listedAtMs` (`nil`: the epoch-aligned grid).
    package init(_ timeframe: Timeframe, listedAtMs: Int64?) {
        self.timeframe = timeframe
        switch timeframe {
        case .w1:
            originMs = 4 * Timeframe.dayMs
        case .d3:
            // The first trading day, reduced to the smallest non-negative origin on the same grid.
            let day = floorDiv(listedAtMs ?? 0, Timeframe.dayMs) * Timeframe.dayMs
            originMs = day - floorDiv(day, 3 * Timeframe.dayMs) * 3 * Timeframe.dayMs
        default:
            originMs = 0
        }
    }

    /// The grid with an explicit origin (saved plans carry the `3d` origin).
    package init(_ timeframe: Timeframe, originMs: Int64) {
        self.timeframe = timeframe
        self.originMs = originMs
    }

    /// The grid index of the candle whose span contains `t` (floor).
    package func index(containing t: Int64) -> Int64 {
        if let duration = timeframe.fixedDurationMs {
            return floorDiv(t - originMs, duration)
        }
        let civil = CivilDate(epochMs: t)
        return (civil.year - 1970) * 12 + (civil.month - 1)
    }

    /// The open time of the candle with grid index `i`.
    package func openTime(ofIndex i: Int64) -> Int64 {
        if let duration = timeframe.fixedDurationMs {
            return originMs + i * duration
        }
        let year = 1970 + floorDiv(i, 12)
        let month = i - floorDiv(i, 12) * 12 + 1
        return CivilDate(year: year, month: month, day: 1).epochMs
    }

    /// The open time of the candle containing `t`.
    package func floor(_ t: Int64) -> Int64 { openTime(ofIndex: index(containing: t)) }

    /// The first open time at or after `t`.
    package func ceil(_ t: Int64) -> Int64 { openTime(ofIndex: ceilIndex(t)) }

    /// The index of the first candle opening at or after `t`.
    package func ceilIndex(_ t: Int64) -> Int64 {
        let i = index(containing: t)
        return openTime(ofIndex: i) == t ? i : i + 1
    }

    /// Whether `t` is an open time on this grid.
    package func isAligned(_ t: Int64) -> Bool { floor(t) == t }

    /// The open time `n` candles after the aligned open time `t`.
    package func advance(_ t: Int64, by n: Int64) -> Int64 { openTime(ofIndex: index(containing: t) + n) }

    /// The close time Binance reports for the candle opening at aligned `t` (next open − 1 ms).
    package func closeTime(ofOpen t: Int64) -> Int64 { advance(t, by: 1) - 1 }

    /// The number of grid open times inside the half-open `range`.
    package func candleCount(in range: TimeRange) -> Int64 {
        max(0, ceilIndex(range.upperBound) - ceilIndex(range.lowerBound))
    }
}
