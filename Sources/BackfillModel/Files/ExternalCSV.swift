/// Reads a candle CSV another program wrote (the live ingester, the ccxt job this tool replaces): which candles it
/// holds. Laxer than ``CSVValidator`` on values (the ccxt job wrote prices through Python floats, `1e-05` included),
/// as strict on what decides coverage: the header, and open times in epoch milliseconds, ascending, no duplicates.
package enum ExternalCSV {
    /// Why a file is not a candle CSV, with the 1-based line.
    package struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        package var line: Int
        package var reason: String

        package var description: String { line == 0 ? reason : "line \(line): \(reason)" }
    }

    /// Open times beyond this are not milliseconds (microsecond rows are 1.7e15 from 2025).
    static let maxOpenTimeMs: Int64 = 10_000_000_000_000

    /// The open times of the file's rows, in order.
    package static func openTimes(in bytes: [UInt8]) -> Result<[Int64], Problem> {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(Problem(line: 0, reason: "not UTF-8 text"))
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let header = lines.first else { return .failure(Problem(line: 0, reason: "empty file")) }
        let columns: Int
        switch header.hasSuffix("\r") ? header.dropLast() : header {
        case Substring(CSVFormat.header(.basic)): columns = 6
        case Substring(CSVFormat.header(.full)): columns = 11
        default:
            return .failure(
                Problem(line: 1, reason: "header is not '\(CSVFormat.header(.basic))' (or the full column set)"))
        }
        var times: [Int64] = []
        times.reserveCapacity(lines.count - 1)
        var previous = Int64.min
        for (offset, raw) in lines.enumerated().dropFirst() {
            let line = offset + 1
            let content = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let fields = content.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns else {
                return .failure(Problem(line: line, reason: "\(fields.count) fields, expected \(columns)"))
            }
            guard let time = Int64(fields[0]), time >= 0, time < maxOpenTimeMs else {
                return .failure(Problem(line: line, reason: "timestamp is not an epoch time in milliseconds"))
            }
            guard time > previous else {
                return .failure(Problem(line: line, reason: "timestamps not ascending (or a row twice)"))
            }
            for field in fields[1...5] where !isNumber(field) {
                return .failure(Problem(line: line, reason: "a price or volume is not a number"))
            }
            previous = time
            times.append(time)
        }
        return .success(times)
    }

    /// The candles `openTimes` holds inside `range`, as runs of the grid: consecutive slots merge, an off-grid time
    /// covers nothing.
    package static func coverage(of openTimes: [Int64], grid: CandleGrid, within range: TimeRange) -> RangeSet {
        var runs: [TimeRange] = []
        var runStart: Int64?
        var next: Int64 = 0
        for time in openTimes where range.contains(time) && grid.isAligned(time) {
            let index = grid.index(containing: time)
            if runStart != nil, index == next {
                next = index + 1
                continue
            }
            if let start = runStart, let run = TimeRange(grid.openTime(ofIndex: start), grid.openTime(ofIndex: next)) {
                runs.append(run)
            }
            runStart = index
            next = index + 1
        }
        if let start = runStart, let run = TimeRange(grid.openTime(ofIndex: start), grid.openTime(ofIndex: next)) {
            runs.append(run)
        }
        return RangeSet(sortedRanges: runs).clamped(to: range)
    }

    /// A decimal, optionally signed, optionally with an exponent (what Python's `repr(float)` writes).
    static func isNumber(_ field: Substring) -> Bool {
        var utf8 = field.utf8[...]
        if utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        var digits = 0
        var dot = false
        while let c = utf8.first {
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits += 1
            } else if c == UInt8(ascii: "."), !dot {
                dot = true
            } else {
                break
            }
            utf8 = utf8.dropFirst()
        }
        guard digits > 0 else { return false }
        if let e = utf8.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            utf8 = utf8.dropFirst()
            if utf8.first == UInt8(ascii: "-") || utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
            guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return false
            }
            return true
        }
        return utf8.isEmpty
    }
}
