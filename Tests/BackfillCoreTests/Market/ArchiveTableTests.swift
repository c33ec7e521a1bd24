import Foundation
import Testing

@testable import BackfillModel

/// The archive CSV and layout rules of binance-api.md §5 (issue 14 point 3), without a server.
struct ArchiveTableTests {
    static let header =
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
    static let ms =
        "1704067200000,42283.58000000,42298.62000000,42261.02000000,42298.61000000,35.92724000,"
        + "1704067259999,1519032.50520226,1327,19.57545000,827659.63138560,0"
    static let us =
        "1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,"
        + "1735689659999999,768978.69906390,1361,5.29245000,495233.33376430,0"

    @Test func microsecondRowsAreNormalisedPerRowAndDecimalsKeptExactly() throws {
        let table = try ArchiveTable(csv: Array("\(Self.ms)\n\(Self.us)\n".utf8))
        #expect(table.openTimes == [1_704_067_200_000, 1_735_689_600_000] && !table.hadHeader)
        let rows = try table.rows(in: TimeRange(uncheckedLower: 0, upper: Int64.max))
        #expect(rows.map(\.closeTime) == [1_704_067_259_999, 1_735_689_659_999])
        #expect(rows[0].open == "42283.58000000" && rows[1].quoteVolume == "768978.69906390" && rows[1].trades == 1361)
    }

    @Test func aHeaderRowIsRecognisedByContentInAnyFileAndNeverTakenAsData() throws {
        for csv in ["\(Self.header)\n\(Self.ms)\n", "\(Self.header.uppercased())\r\n\(Self.ms)\r\n"] {
            let table = try ArchiveTable(csv: Array(csv.utf8))
            #expect(table.hadHeader && table.count == 1)
        }
        // A header anywhere but the first line, or a line that is neither, makes the file unusable.
        for csv in ["\(Self.ms)\n\(Self.header)\n", "open_time,1,2\n\(Self.ms)\n", "\(Self.ms)\n\nx\n"] {
            #expect(throws: ArchiveTableError.self) { try ArchiveTable(csv: Array(csv.utf8)) }
        }
    }

    @Test func malformedRowsAreErrorsNamingTheirLine() throws {
        let bad = [
            Self.ms.replacingOccurrences(of: "42283.58000000", with: "4.2e4"),
            Self.ms.replacingOccurrences(of: ",0", with: ",0,extra"),
            Self.ms.replacingOccurrences(of: ",1327,", with: ",-1327,"),
            String(Self.ms.prefix(40)),
        ]
        for row in bad {
            let table = try ArchiveTable(
                csv: Array(
                    "\(Self.header)\n\(Self.ms)\n\(row.replacingOccurrences(of: "1704067200000", with: "1704067260000"))\n"
                        .utf8))
            #expect(throws: ArchiveTableError.self) {
                try table.rows(in: TimeRange(uncheckedLower: 0, upper: Int64.max))
            }
            do {
                _ = try table.rows(in: TimeRange(uncheckedLower: 0, upper: Int64.max))
            } catch {
                #expect(error.line == 3, "\(error)")
            }
        }
        // Open times out of order.
        #expect(throws: ArchiveTableError.self) { try ArchiveTable(csv: Array("\(Self.ms)\n\(Self.ms)\n".utf8)) }
    }

    @Test func periodsFollowPublicationAndOneSecondReadsDays() {
        let layout = ArchiveLayout(baseURL: "http://127.0.0.1:1/")
        let month = ArchivePeriod.month(containing: CivilDate(year: 2024, month: 2, day: 14).epochMs)
        #expect(
            layout.url(market: .usdm, symbolId: "BTCUSDT", timeframe: .mo1, period: month)
                == "http://127.0.0.1:1/data/futures/um/monthly/klines/BTCUSDT/1mo/BTCUSDT-1mo-2024-02.zip")
        // February 2024's file: the first Monday of March is the 4th; trusted from the 5th.
        #expect(ArchiveLayout.expectedFrom(month) == CivilDate(year: 2024, month: 3, day: 5).epochMs)
        let day = ArchivePeriod.day(containing: CivilDate(year: 2024, month: 3, day: 1, hour: 7).epochMs)
        #expect(
            day.label == "2024-03-01"
                && ArchiveLayout.expectedFrom(day) == CivilDate(year: 2024, month: 3, day: 3).epochMs)
        let now = CivilDate(year: 2024, month: 3, day: 4, hour: 12).epochMs
        let range = TimeRange(
            uncheckedLower: CivilDate(year: 2024, month: 2, day: 28).epochMs,
            upper: CivilDate(year: 2024, month: 3, day: 2).epochMs)
        // February's month is not trusted yet on the 4th: its days are; March 1 is.
        let m1 = ArchiveLayout.periods(for: range, timeframe: .m1, nowMs: now)
        #expect(m1?.map(\.period.label) == ["2024-02-28", "2024-02-29", "2024-03-01"])
        // 1w has no daily files: not servable yet.
        #expect(ArchiveLayout.periods(for: range, timeframe: .w1, nowMs: now) == nil)
        // A day not expected yet: the task is not the archive's.
        let tail = TimeRange(uncheckedLower: range.lowerBound, upper: now)
        #expect(ArchiveLayout.periods(for: tail, timeframe: .m1, nowMs: now) == nil)
        // 1s reads days even in a published month.
        let later = CivilDate(year: 2024, month: 4, day: 1).epochMs
        #expect(ArchiveLayout.periods(for: range, timeframe: .s1, nowMs: later)?.count == 3)
        #expect(
            ArchiveLayout.periods(for: range, timeframe: .m1, nowMs: later)?.map(\.period.label) == [
                "2024-02", "2024-03-01",
            ])
    }
}
