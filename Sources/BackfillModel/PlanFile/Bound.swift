/// A start or end of a desired range, as written in the plan file.
package enum Bound: Sendable, Hashable, CustomStringConvertible {
    /// The pair's listing (its first candle).
    case earliest
    /// The pair's watermark, or `earliest` when it has none.
    case watermark
    /// The last fully closed candle boundary by the exchange's clock.
    case now
    /// A fixed instant in epoch milliseconds (written as ISO-8601 or as a number).
    case absolute(Int64)
    /// An offset from `now` in milliseconds (always negative: `-90d`).
    case relative(Int64)

    package var description: String {
        switch self {
        case .earliest: "earliest"
        case .watermark: "watermark"
        case .now: "now"
        case .absolute(let ms): ISO8601Instant.format(ms)
        case .relative(let ms): Self.formatOffset(ms)
        }
    }

    /// `-90d`, `-12h`, `-30m`, `-45s` or milliseconds: the largest unit that divides the offset.
    static func formatOffset(_ ms: Int64) -> String {
        for (unit, size) in [
            ("w", 7 * Timeframe.dayMs), ("d", Timeframe.dayMs), ("h", Timeframe.hourMs),
            ("m", Timeframe.minuteMs), ("s", Timeframe.secondMs),
        ] where ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }

    /// Parses a bound; returns `nil` with no side effect when `text` is not one.
    ///
    /// Accepted: `earliest`, `watermark`, `now`, epoch milliseconds (digits), a relative offset `-N` followed by
    /// `s`, `m` (minutes), `h`, `d` or `w`, and ISO-8601 dates or date-times (`2024-01-01`, `2024-01-01T12:30Z`,
    /// `2024-01-01T12:30:00.250+02:00`; a date-time without a zone is UTC).
    package static func parse(_ text: String) -> Bound? {
        switch text {
        case "earliest": return .earliest
        case "watermark": return .watermark
        case "now": return .now
        default: break
        }
        if !text.isEmpty, text.count <= 15, text.allSatisfy(\.isASCIIDigit), let ms = Int64(text) {
            return ms <= maxEpochMs ? .absolute(ms) : nil
        }
        if text.hasPrefix("-"), text.count >= 3, let unit = text.last {
            let digits = text.dropFirst().dropLast()
            guard digits.count <= 9, digits.allSatisfy(\.isASCIIDigit), let n = Int64(digits), n > 0 else {
                return nil
            }
            let factor: Int64
            switch unit {
            case "s": factor = Timeframe.secondMs
            case "m": factor = Timeframe.minuteMs
            case "h": factor = Timeframe.hourMs
            case "d": factor = Timeframe.dayMs
            case "w": factor = 7 * Timeframe.dayMs
            default: return nil
            }
            return .relative(-n * factor)
        }
        return ISO8601Instant.parse(text).map(Bound.absolute)
    }

    /// 9999-12-31T23:59:59.999Z: the latest instant a plan may name.
    package static let maxEpochMs: Int64 = 253_402_300_799_999
}

/// A strict, Foundation-free ISO-8601 parser for the forms a plan file may use.
package enum ISO8601Instant {
    /// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM|±HHMM|±HH]` into epoch milliseconds (UTC when no zone).
    package static func parse(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= chars.count else { return nil }
            var value: Int64 = 0
            for k in i..<(i + width) {
                let c = chars[k]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
            }
            i += width
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2) else {
            return nil
        }
        guard year >= 1970, (1...12).contains(month),
            (1...CivilDate.daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        var date = CivilDate(year: year, month: month, day: day)
        var offsetMs: Int64 = 0
        if i < chars.count {
            guard expect(0x54) || expect(0x20), let hour = number(2), expect(0x3A), let minute = number(2) else {
                return nil
            }
            guard hour < 24, minute < 60 else { return nil }
            date.hour = hour
            date.minute = minute
            if expect(0x3A) {
                guard let second = number(2), second < 60 else { return nil }
                date.second = second
                if expect(0x2E) {
                    let start = i
                    var fraction: Int64 = 0
                    var digits = 0
                    while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                        if digits < 3 { fraction = fraction * 10 + Int64(chars[i] - 48) }
                        digits += 1
                        i += 1
                    }
                    guard i > start else { return nil }
                    for _ in digits..<3 where digits < 3 { fraction *= 10 }
                    date.millisecond = fraction
                }
            }
            if i < chars.count {
                if expect(0x5A) {
                    offsetMs = 0
                } else {
                    let sign: Int64
                    if expect(0x2B) { sign = 1 } else if expect(0x2D) { sign = -1 } else { return nil }
                    guard let oh = number(2), oh <= 14 else { return nil }
                    var om: Int64 = 0
                    if expect(0x3A) {
                        guard let m = number(2) else { return nil }
                        om = m
                    } else if i < chars.count {
                        guard let m = number(2) else { return nil }
                        om = m
                    }
                    guard om < 60 else { return nil }
                    offsetMs = sign * (oh * Timeframe.hourMs + om * Timeframe.minuteMs)
                }
            }
        }
        guard i == chars.count else { return nil }
        let ms = date.epochMs - offsetMs
        return ms >= 0 && ms <= Bound.maxEpochMs ? ms : nil
    }

    /// Formats epoch milliseconds as the compact UTC form used in plan output: `2017-08-17T04:00Z`, with seconds
    /// and milliseconds only when they are not zero.
    package static func format(_ ms: Int64) -> String {
        let d = CivilDate(epochMs: ms)
        var text = "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))T\(pad(d.hour, 2)):\(pad(d.minute, 2))"
        if d.second != 0 || d.millisecond != 0 { text += ":\(pad(d.second, 2))" }
        if d.millisecond != 0 { text += ".\(pad(d.millisecond, 3))" }
        return text + "Z"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
