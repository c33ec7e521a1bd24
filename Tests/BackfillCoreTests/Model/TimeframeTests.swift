import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Epoch ms of a UTC date-time, for readable tables.
func utc(_ y: Int64, _ mo: Int64, _ d: Int64, _ h: Int64 = 0, _ mi: Int64 = 0, _ s: Int64 = 0) -> Int64 {
    CivilDate(year: y, month: mo, day: d, hour: h, minute: mi, second: s).epochMs
}

struct TimeframeTests {
    @Test func allSixteenBinanceIntervals() {
        #expect(
            Timeframe.allCases.map(\.rawValue) == [
                "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
            ])
        #expect(Timeframe(rawValue: "1M") == .mo1)
        #expect(Timeframe(rawValue: "1m") == .m1)
        #expect(!Timeframe.s1.isAvailable(on: .usdm))
        #expect(Timeframe.s1.isAvailable(on: .spot))
    }

    /// (timeframe, instant, expected floor) across leap days, month ends and year ends.
    static let floors: [(Timeframe, Int64, Int64)] = [
        (.s1, utc(2024, 2, 29, 23, 59, 59) + 999, utc(2024, 2, 29, 23, 59, 59)),
        (.m1, utc(2020, 12, 31, 23, 59, 30), utc(2020, 12, 31, 23, 59)),
        (.m3, utc(2024, 2, 29, 0, 4), utc(2024, 2, 29, 0, 3)),
        (.m5, utc(2017, 8, 17, 4, 7), utc(2017, 8, 17, 4, 5)),
        (.m15, utc(2023, 12, 31, 23, 59), utc(2023, 12, 31, 23, 45)),
        (.m30, utc(2021, 3, 1, 0, 29), utc(2021, 3, 1)),
        (.h1, utc(2017, 8, 17, 4, 59), utc(2017, 8, 17, 4)),
        (.h2, utc(2024, 2, 29, 1, 0), utc(2024, 2, 29, 0)),
        (.h4, utc(2024, 2, 29, 23, 0), utc(2024, 2, 29, 20)),
        (.h6, utc(2019, 12, 31, 23, 0), utc(2019, 12, 31, 18)),
        (.h8, utc(2020, 2, 29, 17, 0), utc(2020, 2, 29, 16)),
        (.h12, utc(2000, 2, 29, 12, 0, 1), utc(2000, 2, 29, 12)),
        (.d1, utc(2024, 2, 29, 13, 0), utc(2024, 2, 29)),
        (.d1, utc(2100, 3, 1, 0, 0, 1), utc(2100, 3, 1)),
        // 3d with no listing known: multiples of three days from the epoch (1970-01-01, 01-04, …).
        (.d3, utc(1970, 1, 3, 23), utc(1970, 1, 1)),
        (.d3, utc(1970, 1, 4), utc(1970, 1, 4)),
        (.d3, utc(2017, 8, 17, 4), utc(2017, 8, 16)),
        (.d3, utc(2024, 2, 29, 13), utc(2024, 2, 29)),
        (.d3, utc(2024, 2, 28, 23), utc(2024, 2, 26)),
        // 1w: Mondays 00:00 UTC.
        (.w1, utc(1970, 1, 1), utc(1969, 12, 29)),
        (.w1, utc(2017, 8, 17, 4), utc(2017, 8, 14)),
        (.w1, utc(2024, 3, 3, 23, 59), utc(2024, 2, 26)),
        (.w1, utc(2024, 3, 4), utc(2024, 3, 4)),
        (.w1, utc(2021, 1, 1), utc(2020, 12, 28)),
        // 1M: calendar months, leap Februaries included.
        (.mo1, utc(2024, 2, 29, 23, 59), utc(2024, 2, 1)),
        (.mo1, utc(2023, 2, 28, 23, 59), utc(2023, 2, 1)),
        (.mo1, utc(2024, 12, 31, 23, 59, 59), utc(2024, 12, 1)),
        (.mo1, utc(2000, 3, 1), utc(2000, 3, 1)),
        (.mo1, utc(1970, 1, 15), utc(1970, 1, 1)),
    ]

    @Test(arguments: floors)
    func floorLandsOnTheGrid(timeframe: Timeframe, instant: Int64, expected: Int64) {
        let timeframe = timeframe.grid(listedAtMs: nil)
        #expect(timeframe.floor(instant) == expected)
        #expect(timeframe.isAligned(expected))
        #expect(timeframe.ceil(expected) == expected)
        let next = timeframe.advance(expected, by: 1)
        #expect(next > instant)
        #expect(timeframe.floor(next - 1) == expected)
        #expect(timeframe.closeTime(ofOpen: expected) == next - 1)
    }

    /// (timeframe, open, expected next open): the grid steps across month ends and leap years.
    static let steps: [(Timeframe, Int64, Int64)] = [
        (.mo1, utc(2024, 1, 1), utc(2024, 2, 1)),
        (.mo1, utc(2024, 2, 1), utc(2024, 3, 1)),
        (.mo1, utc(2023, 2, 1), utc(2023, 3, 1)),
        (.mo1, utc(2024, 12, 1), utc(2025, 1, 1)),
        (.mo1, utc(1900 + 100, 2, 1), utc(2000, 3, 1)),
        (.w1, utc(2024, 2, 26), utc(2024, 3, 4)),
        (.w1, utc(2020, 12, 28), utc(2021, 1, 4)),
        (.d3, utc(2024, 2, 29), utc(2024, 3, 3)),
        (.d1, utc(2024, 2, 28), utc(2024, 2, 29)),
        (.d1, utc(2023, 2, 28), utc(2023, 3, 1)),
        (.h12, utc(2024, 12, 31, 12), utc(2025, 1, 1)),
    ]

    @Test(arguments: steps)
    func advanceStepsToTheNextOpen(timeframe: Timeframe, open: Int64, next: Int64) {
        let timeframe = timeframe.grid(listedAtMs: nil)
        #expect(timeframe.advance(open, by: 1) == next)
        #expect(timeframe.advance(next, by: -1) == open)
        #expect(timeframe.candleCount(in: TimeRange(uncheckedLower: open, upper: next)) == 1)
    }

    @Test func monthCountsAcrossYears() {
        let range = TimeRange(uncheckedLower: utc(2017, 8, 17), upper: utc(2024, 3, 1))
        // September 2017 … February 2024 open inside the range: 4 + 12 × 6 + 2 = 78.
        #expect(Timeframe.mo1.grid(listedAtMs: nil).candleCount(in: range) == 78)
        #expect(
            Timeframe.d1.grid(listedAtMs: nil).candleCount(
                in: TimeRange(uncheckedLower: utc(2024, 1, 1), upper: utc(2025, 1, 1))) == 366)
        #expect(
            Timeframe.d1.grid(listedAtMs: nil).candleCount(
                in: TimeRange(uncheckedLower: utc(2023, 1, 1), upper: utc(2024, 1, 1))) == 365)
        #expect(
            Timeframe.w1.grid(listedAtMs: nil).candleCount(
                in: TimeRange(uncheckedLower: utc(2024, 1, 1), upper: utc(2025, 1, 1))) == 53)
    }

    @Test func everyFixedTimeframeMatchesItsDuration() {
        for timeframe in Timeframe.allCases {
            guard let duration = timeframe.fixedDurationMs else { continue }
            let timeframe = timeframe.grid(listedAtMs: nil)
            let open = timeframe.floor(utc(2022, 6, 15, 13, 37, 11))
            #expect(timeframe.advance(open, by: 1) - open == duration, "\(timeframe)")
            #expect(timeframe.advance(open, by: 1000) - open == 1000 * duration, "\(timeframe)")
        }
    }

    @Test func civilDateRoundTripsEveryDayFor1968To2101() {
        var day = utc(1968, 1, 1)
        var expected = CivilDate(year: 1968, month: 1, day: 1)
        while day < utc(2101, 1, 1) {
            let civil = CivilDate(epochMs: day)
            #expect(civil == expected)
            #expect(civil.epochMs == day)
            day += Timeframe.dayMs
            expected.day += 1
            if expected.day > CivilDate.daysInMonth(year: expected.year, month: expected.month) {
                expected.day = 1
                expected.month += 1
                if expected.month > 12 {
                    expected.month = 1
                    expected.year += 1
                }
            }
        }
    }

    @Test func leapYears() {
        #expect(CivilDate.isLeapYear(2024))
        #expect(CivilDate.isLeapYear(2000))
        #expect(!CivilDate.isLeapYear(2100))
        #expect(!CivilDate.isLeapYear(2023))
        #expect(CivilDate.daysInMonth(year: 2024, month: 2) == 29)
        #expect(CivilDate.daysInMonth(year: 2100, month: 2) == 28)
    }
}
