/// A proleptic Gregorian calendar date in UTC, converted to and from epoch milliseconds without Foundation.
///
/// Uses Howard Hinnant's `days_from_civil` / `civil_from_days` algorithms: exact for every year, branch-light, and
/// independent of the host's time-zone database, so grids and file names never depend on the machine.
package struct CivilDate: Sendable, Equatable {
    package var year: Int64
    package var month: Int64
    package var day: Int64
    package var hour: Int64 = 0
    package var minute: Int64 = 0
    package var second: Int64 = 0
    package var millisecond: Int64 = 0

    package init(
        year: Int64, month: Int64, day: Int64, hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0,
        millisecond: Int64 = 0
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
    }

    /// Splits epoch milliseconds into calendar fields.
    package init(epochMs: Int64) {
        let days = floorDiv(epochMs, Timeframe.dayMs)
        var rest = epochMs - days * Timeframe.dayMs
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        hour = rest / Timeframe.hourMs
        rest -= hour * Timeframe.hourMs
        minute = rest / Timeframe.minuteMs
        rest -= minute * Timeframe.minuteMs
        second = rest / 1000
        millisecond = rest - second * 1000
    }

    /// Days since 1970-01-01 of the date part.
    package var daysSinceEpoch: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The instant in epoch milliseconds.
    package var epochMs: Int64 {
        daysSinceEpoch * Timeframe.dayMs + hour * Timeframe.hourMs + minute * Timeframe.minuteMs + second * 1000
            + millisecond
    }

    /// Whether `year` is a leap year.
    package static func isLeapYear(_ year: Int64) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// The number of days in `month` of `year`.
    package static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
