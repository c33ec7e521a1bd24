/// Whether `apply` reads Binance's bulk archive (data.binance.vision) where it can (§12).
package enum ArchiveMode: String, Sendable, Codable, CaseIterable {
    /// Tasks inside published archive periods come from the archive, the rest over REST.
    case auto
    /// REST only.
    case off
    /// The archive only: a task it cannot serve is reported and left for a later run; no klines request is sent.
    case only
}

/// One archive file: a month or a day of one symbol's candles at one interval.
package struct ArchivePeriod: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        case monthly, daily
    }

    package var kind: Kind
    /// Open times the file holds: the month or the UTC day.
    package var range: TimeRange
    /// `2024-01` or `2024-01-05`.
    package var label: String

    package var description: String { "\(kind.rawValue) \(label)" }

    /// The period of the same kind that follows this one.
    package var next: ArchivePeriod {
        kind == .monthly ? Self.month(containing: range.upperBound) : Self.day(containing: range.upperBound)
    }

    /// The month containing `t`.
    package static func month(containing t: Int64) -> ArchivePeriod {
        let date = CivilDate(epochMs: t)
        let start = CivilDate(year: date.year, month: date.month, day: 1).epochMs
        let next =
            date.month == 12
            ? CivilDate(year: date.year + 1, month: 1, day: 1)
            : CivilDate(
                year: date.year, month: date.month + 1, day: 1)
        return ArchivePeriod(
            kind: .monthly, range: TimeRange(uncheckedLower: start, upper: next.epochMs),
            label: "\(pad(date.year, 4))-\(pad(date.month, 2))")
    }

    /// The UTC day containing `t`.
    package static func day(containing t: Int64) -> ArchivePeriod {
        let start = floorDiv(t, Timeframe.dayMs) * Timeframe.dayMs
        let date = CivilDate(epochMs: start)
        return ArchivePeriod(
            kind: .daily, range: TimeRange(uncheckedLower: start, upper: start + Timeframe.dayMs),
            label: "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))")
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// An archive file read and verified: what the ledger keeps of it (§12).
package struct ArchiveFileRef: Sendable, Hashable, Codable {
    /// The zip's URL as fetched.
    package var url: String
    /// The SHA-256 its `.CHECKSUM` gave and the zip's bytes matched.
    package var sha256: String
    /// The open times the file covers.
    package var range: TimeRange
    /// When it was verified (epoch ms, the machine's clock).
    package var verifiedAtMs: Int64

    package init(url: String, sha256: String, range: TimeRange, verifiedAtMs: Int64) {
        self.url = url
        self.sha256 = sha256
        self.range = range
        self.verifiedAtMs = verifiedAtMs
    }
}

/// The archive's layout and publication rules (binance-api.md §5): where a period's zip is, which intervals have
/// daily files, and from when a period is expected to be published.
package struct ArchiveLayout: Sendable, Equatable {
    /// `https://data.binance.vision` or a fake's base URL, without a trailing `/`.
    package var baseURL: String

    package init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    /// The production archive.
    package static let productionBaseURL = "https://data.binance.vision"

    /// The interval as archive paths spell it (`1M` is `1mo`).
    package static func interval(_ timeframe: Timeframe) -> String { timeframe == .mo1 ? "1mo" : timeframe.rawValue }

    /// Daily files exist for `1s…1d` only.
    package static func hasDailyFiles(_ timeframe: Timeframe) -> Bool { timeframe <= .d1 }

    /// The market's path segment.
    package static func segment(_ market: MarketKind) -> String {
        switch market {
        case .spot: "spot"
        case .usdm: "futures/um"
        case .coinm: "futures/cm"
        }
    }

    /// The zip's URL; its checksum is the same URL with `.CHECKSUM` appended.
    package func url(market: MarketKind, symbolId: String, timeframe: Timeframe, period: ArchivePeriod) -> String {
        let interval = Self.interval(timeframe)
        return "\(baseURL)/data/\(Self.segment(market))/\(period.kind.rawValue)/klines/\(symbolId)/\(interval)/"
            + "\(symbolId)-\(interval)-\(period.label).zip"
    }

    /// How long after its last candle a day is trusted to be published (Binance: "the next day"; the margin is
    /// freqtrade's "today − 2 days").
    package static let dailyDelayMs = Timeframe.dayMs
    /// How long after the first Monday of the next month a month is trusted to be published.
    package static let monthlyDelayMs = Timeframe.dayMs

    /// From when the period's file is expected (never asked for earlier: a 404 before then is not news).
    package static func expectedFrom(_ period: ArchivePeriod) -> Int64 {
        switch period.kind {
        case .daily:
            return period.range.upperBound + dailyDelayMs
        case .monthly:
            // 1970-01-01 was a Thursday: day d (since the epoch) is a Monday when (d + 3) % 7 == 0.
            let firstDay = floorDiv(period.range.upperBound, Timeframe.dayMs)
            let monday = firstDay + (7 - (firstDay + 3) % 7) % 7
            return monday * Timeframe.dayMs + monthlyDelayMs
        }
    }

    /// The archive periods serving open times `range` of `timeframe` at `nowMs`, each with the part of `range` it
    /// serves, in order; `nil` when some part is not (yet) expected in the archive. A month comes as its monthly
    /// file, except for `1s`, whose months (2.6 M rows) come as days so that memory stays flat.
    package static func periods(
        for range: TimeRange, timeframe: Timeframe, nowMs: Int64
    ) -> [(
        period: ArchivePeriod, part: TimeRange
    )]? {
        var result: [(period: ArchivePeriod, part: TimeRange)] = []
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            let month = ArchivePeriod.month(containing: cursor)
            let part = TimeRange(uncheckedLower: cursor, upper: min(range.upperBound, month.range.upperBound))
            if timeframe != .s1, expectedFrom(month) <= nowMs {
                result.append((month, part))
            } else {
                guard let days = days(for: part, timeframe: timeframe, nowMs: nowMs) else { return nil }
                result += days
            }
            cursor = part.upperBound
        }
        return result
    }

    /// The daily files serving `range` (inside one month), or `nil` when the interval has none or a day is not
    /// expected yet.
    package static func days(
        for range: TimeRange, timeframe: Timeframe, nowMs: Int64
    ) -> [(
        period: ArchivePeriod, part: TimeRange
    )]? {
        guard hasDailyFiles(timeframe) else { return nil }
        var result: [(period: ArchivePeriod, part: TimeRange)] = []
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            let day = ArchivePeriod.day(containing: cursor)
            guard expectedFrom(day) <= nowMs else { return nil }
            let part = TimeRange(uncheckedLower: cursor, upper: min(range.upperBound, day.range.upperBound))
            result.append((day, part))
            cursor = part.upperBound
        }
        return result
    }
}
