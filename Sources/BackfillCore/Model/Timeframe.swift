/// One of Binance's 16 kline intervals, with the grid its candles open on.
///
/// Every timeframe is a grid of open times indexed by integers: candle `i` opens at ``openTime(ofIndex:)`` and the
/// next one at `openTime(ofIndex: i + 1)`. Fixed-length timeframes are `origin + i × duration`; `1w` has its origin
/// on Monday 1970-01-05 00:00 UTC (Binance weeks open on Mondays); `1M` counts calendar months since January 1970.
/// Chunking, candle counts and alignment checks all go through the index, so the irregular `1M` grid needs no
/// special case anywhere else.
package enum Timeframe: String, CaseIterable, Sendable, Codable, Hashable, Comparable {
    case s1 = "1s"
    case m1 = "1m"
    case m3 = "3m"
    case m5 = "5m"
    case m15 = "15m"
    case m30 = "30m"
    case h1 = "1h"
    case h2 = "2h"
    case h4 = "4h"
    case h6 = "6h"
    case h8 = "8h"
    case h12 = "12h"
    case d1 = "1d"
    case d3 = "3d"
    case w1 = "1w"
    case mo1 = "1M"

    package static let secondMs: Int64 = 1000
    package static let minuteMs: Int64 = 60_000
    package static let hourMs: Int64 = 3_600_000
    package static let dayMs: Int64 = 86_400_000

    /// The length of one candle in milliseconds, or `nil` for `1M`, whose months differ in length.
    package var fixedDurationMs: Int64? {
        switch self {
        case .s1: Self.secondMs
        case .m1: Self.minuteMs
        case .m3: 3 * Self.minuteMs
        case .m5: 5 * Self.minuteMs
        case .m15: 15 * Self.minuteMs
        case .m30: 30 * Self.minuteMs
        case .h1: Self.hourMs
        case .h2: 2 * Self.hourMs
        case .h4: 4 * Self.hourMs
        case .h6: 6 * Self.hourMs
        case .h8: 8 * Self.hourMs
        case .h12: 12 * Self.hourMs
        case .d1: Self.dayMs
        case .d3: 3 * Self.dayMs
        case .w1: 7 * Self.dayMs
        case .mo1: nil
        }
    }

    /// The open time of grid index 0 for fixed-length timeframes.
    ///
    /// Weeks open on Monday: 1970-01-01 was a Thursday, so the first Monday is 4 days later. Three-day candles
    /// are cut on multiples of three days from the epoch, as Binance cuts them.
    private var originMs: Int64 {
        switch self {
        case .w1: 4 * Self.dayMs
        default: 0
        }
    }

    /// The nominal length used for estimates (1M counts as 31 days).
    package var nominalDurationMs: Int64 { fixedDurationMs ?? 31 * Self.dayMs }

    /// Whether the timeframe exists on the given market (`1s` is spot only).
    package func isAvailable(on market: MarketKind) -> Bool {
        self != .s1 || market == .spot
    }

    /// The grid index of the candle whose span contains `t` (floor).
    package func index(containing t: Int64) -> Int64 {
        if let duration = fixedDurationMs {
            return floorDiv(t - originMs, duration)
        }
        let civil = CivilDate(epochMs: t)
        return (civil.year - 1970) * 12 + (civil.month - 1)
    }

    /// The open time of the candle with grid index `i`.
    package func openTime(ofIndex i: Int64) -> Int64 {
        if let duration = fixedDurationMs {
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

    package static func < (lhs: Timeframe, rhs: Timeframe) -> Bool {
        lhs.nominalDurationMs < rhs.nominalDurationMs
    }
}

/// Floor division for Int64 (Swift's `/` truncates toward zero).
@inline(__always)
package func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
