/// One of Binance's 16 kline intervals. The open times its candles fall on are a ``CandleGrid``, which for `3d`
/// depends on the pair (``grid(listedAtMs:)``).
package enum Timeframe: String, CaseIterable, Sendable, Codable, Hashable, Comparable, CustomStringConvertible {
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

    /// The nominal length used for estimates (1M counts as 31 days).
    package var nominalDurationMs: Int64 { fixedDurationMs ?? 31 * Self.dayMs }

    /// Whether the timeframe exists on the given market (`1s` is spot only).
    package func isAvailable(on market: MarketKind) -> Bool {
        self != .s1 || market == .spot
    }

    /// The grid a pair's candles open on, given the open time of the pair's first candle (any timeframe's: only its
    /// UTC day matters, and only for `3d`). `nil` (a listing not known yet) gives the epoch-aligned grid.
    package func grid(listedAtMs: Int64?) -> CandleGrid { CandleGrid(self, listedAtMs: listedAtMs) }

    /// Binance's spelling (`1m`, `1M`), in messages and paths alike.
    package var description: String { rawValue }

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
