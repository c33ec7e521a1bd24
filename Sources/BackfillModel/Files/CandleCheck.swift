/// The rules a landing CSV's candles must keep (§7 `invalid_candles`), checked row by row: nothing is dropped or
/// fixed, every break is reported with its row and rule.
package enum CandleCheck {
    package enum Rule: String, Sendable, Codable, CaseIterable {
        /// The first line is neither the `basic` nor the `full` header.
        case header
        /// A row with the wrong number of fields, or a field that is not a number.
        case malformed
        /// `low ≤ open, close ≤ high` broken.
        case priceRange = "price_range"
        /// A volume below zero.
        case negativeVolume = "negative_volume"
        /// A timestamp lower than the row before.
        case unsorted
        /// The same timestamp twice.
        case duplicateTimestamp = "duplicate_timestamp"
        /// A timestamp off the timeframe's grid (Binance has some from 2017–2018).
        case offGrid = "off_grid"
        /// A timestamp outside the range the file's name says it covers.
        case outsideRange = "outside_range"
    }

    package struct Violation: Sendable, Equatable, Codable {
        /// The line number in the file (1 = header).
        package var line: Int
        package var rule: Rule
        package var detail: String
    }

    /// Every rule broken in `bytes`, in line order.
    /// - Parameters:
    ///   - grid: the pair's candle grid (nil: not checked).
    ///   - range: the file's range from its name (nil: not checked).
    package static func violations(in bytes: [UInt8], grid: CandleGrid?, range: TimeRange?) -> [Violation] {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let header = lines.first else { return [Violation(line: 1, rule: .header, detail: "empty file")] }
        let full: Bool
        switch header {
        case Substring(CSVFormat.header(.basic)): full = false
        case Substring(CSVFormat.header(.full)): full = true
        default: return [Violation(line: 1, rule: .header, detail: "unknown header \(header.prefix(80))")]
        }
        var found: [Violation] = []
        var previous: Int64?
        for (offset, line) in lines.enumerated().dropFirst() {
            let number = offset + 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == (full ? 11 : 6), let time = Int64(fields[0]),
                fields[1...5].allSatisfy({ DecimalText.isWellFormed($0, signed: true) })
            else {
                found.append(Violation(line: number, rule: .malformed, detail: "not a candle row: \(line.prefix(80))"))
                continue
            }
            let (open, high, low, close, volume) = (fields[1], fields[2], fields[3], fields[4], fields[5])
            if let previous {
                if time == previous {
                    found.append(Violation(line: number, rule: .duplicateTimestamp, detail: "timestamp \(time) again"))
                } else if time < previous {
                    found.append(
                        Violation(line: number, rule: .unsorted, detail: "timestamp \(time) after \(previous)"))
                }
            }
            previous = time
            if let range, !range.contains(time) {
                found.append(
                    Violation(
                        line: number, rule: .outsideRange,
                        detail: "timestamp \(time) outside [\(range.lowerBound), \(range.upperBound))"))
            }
            if let grid, grid.floor(time) != time {
                found.append(
                    Violation(
                        line: number, rule: .offGrid, detail: "timestamp \(time) is not on the \(grid.timeframe) grid"))
            }
            let lowest = [open, close].allSatisfy { DecimalText.compare(low, $0) <= 0 }
            let highest = [open, close].allSatisfy { DecimalText.compare($0, high) <= 0 }
            if !lowest || !highest || DecimalText.compare(low, high) > 0 {
                found.append(
                    Violation(
                        line: number, rule: .priceRange,
                        detail: "low \(low) ≤ open \(open), close \(close) ≤ high \(high) broken"))
            }
            if volume.hasPrefix("-") && DecimalText.compare(volume, "0") < 0 {
                found.append(Violation(line: number, rule: .negativeVolume, detail: "volume \(volume)"))
            }
        }
        return found
    }
}
