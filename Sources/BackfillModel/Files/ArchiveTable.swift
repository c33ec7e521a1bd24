/// Why an archive CSV cannot be used: the line (1-based) and the rule it broke.
package struct ArchiveTableError: Error, Equatable, CustomStringConvertible {
    package var line: Int
    package var reason: String

    package var description: String { "line \(line): \(reason)" }
}

/// The CSV inside one archive zip (binance-api.md §5), indexed once and parsed per task: 12 unquoted fields in the
/// REST order, `\n` or `\r\n` line ends, an optional header line (recognised by content, whatever the market or
/// year: newer futures files have one, files in the wild differ), open and close times in milliseconds or — spot
/// from 2025 — microseconds, normalised per row.
///
/// Only the bytes, each data line's start and its open time are kept (a month of 1m: ~5 MB and 0.5 MB), so a few
/// periods in memory stay small; a task's rows are parsed when it asks, with the same strictness as the REST
/// decoder: decimals `digits[.digits]` kept byte-exact, integers without sign, exactly 12 fields.
package struct ArchiveTable: Sendable {
    private let bytes: [UInt8]
    private let starts: [Int32]
    /// Every data row's open time in ms, strictly ascending.
    package let openTimes: [Int64]
    /// The line number of the first data row (2 after a header).
    private let firstLine: Int
    /// Whether the file had a header line.
    package let hadHeader: Bool

    /// The number of data rows.
    package var count: Int { openTimes.count }

    /// An open time at or above this is in microseconds (1e13 ms is the year 2286).
    package static let microsecondThreshold: Int64 = 10_000_000_000_000

    /// Indexes `bytes` (the whole CSV).
    /// - Throws: ``ArchiveTableError`` for a line that is neither data nor the header, times out of order, or a
    ///   body larger than 2 GB.
    package init(csv bytes: [UInt8]) throws(ArchiveTableError) {
        guard bytes.count < Int(Int32.max) else { throw ArchiveTableError(line: 0, reason: "larger than 2 GB") }
        self.bytes = bytes
        var starts: [Int32] = []
        var openTimes: [Int64] = []
        starts.reserveCapacity(bytes.count / 100 + 1)
        openTimes.reserveCapacity(bytes.count / 100 + 1)
        var header = false
        let result = bytes.withUnsafeBufferPointer { buffer -> ArchiveTableError? in
            var i = 0
            var line = 0
            var previous: Int64 = -1
            while i < buffer.count {
                line += 1
                let start = i
                while i < buffer.count, buffer[i] != 0x0A { i += 1 }
                var end = i
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                i += 1
                if end == start {
                    // An empty line: allowed only as the file's end.
                    if i < buffer.count { return ArchiveTableError(line: line, reason: "empty line") }
                    continue
                }
                let first = buffer[start]
                guard first >= 0x30, first <= 0x39 else {
                    guard line == 1, Self.isHeader(UnsafeBufferPointer(rebasing: buffer[start..<end])) else {
                        return ArchiveTableError(line: line, reason: "not a candle row")
                    }
                    header = true
                    continue
                }
                var value: Int64 = 0
                var j = start
                while j < end, buffer[j] != 0x2C {
                    let c = buffer[j]
                    guard c >= 0x30, c <= 0x39, j - start < 18 else {
                        return ArchiveTableError(line: line, reason: "open time is not an integer")
                    }
                    value = value * 10 + Int64(c - 0x30)
                    j += 1
                }
                if value >= Self.microsecondThreshold { value /= 1000 }
                guard value > previous else {
                    return ArchiveTableError(line: line, reason: "open times not strictly ascending")
                }
                previous = value
                starts.append(Int32(start))
                openTimes.append(value)
            }
            return nil
        }
        if let result { throw result }
        self.starts = starts
        self.openTimes = openTimes
        hadHeader = header
        firstLine = header ? 2 : 1
    }

    /// A header line: the known column names (any case, any number of them) and nothing that could be data.
    static func isHeader(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let text = String(decoding: line, as: UTF8.self).lowercased()
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.first == "open_time" || fields.first == "open time" else { return false }
        return fields.allSatisfy { field in
            !field.isEmpty && field.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x20 }
        }
    }

    /// The index of the first row with open time ≥ `t`.
    private func lowerIndex(_ t: Int64) -> Int {
        var low = 0
        var high = openTimes.count
        while low < high {
            let mid = (low + high) / 2
            if openTimes[mid] < t { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The rows with open time in `range`, parsed and normalised to milliseconds.
    /// - Throws: ``ArchiveTableError`` naming the first malformed line.
    package func rows(in range: TimeRange) throws(ArchiveTableError) -> [Kline] {
        let from = lowerIndex(range.lowerBound)
        let to = lowerIndex(range.upperBound)
        guard from < to else { return [] }
        var rows: [Kline] = []
        rows.reserveCapacity(to - from)
        let result = bytes.withUnsafeBufferPointer { buffer -> ArchiveTableError? in
            for index in from..<to {
                let start = Int(starts[index])
                var end = index + 1 < starts.count ? Int(starts[index + 1]) : buffer.count
                while end > start, buffer[end - 1] == 0x0A || buffer[end - 1] == 0x0D { end -= 1 }
                var parser = RowParser(bytes: buffer, i: start, end: end)
                guard let row = parser.row() else {
                    return ArchiveTableError(
                        line: firstLine + index, reason: parser.failure ?? "malformed row")
                }
                rows.append(row)
            }
            return nil
        }
        if let result { throw result }
        return rows
    }

    /// One line's 12 fields.
    private struct RowParser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i: Int
        let end: Int
        var failure: String?

        init(bytes: UnsafeBufferPointer<UInt8>, i: Int, end: Int) {
            self.bytes = bytes
            self.i = i
            self.end = end
        }

        mutating func row() -> Kline? {
            guard let openTime = time("open time"), comma(), let open = decimal("open"), comma(),
                let high = decimal("high"), comma(), let low = decimal("low"), comma(),
                let close = decimal("close"), comma(), let volume = decimal("volume"), comma(),
                let closeTime = time("close time"), comma(), let quoteVolume = decimal("quote volume"), comma(),
                let trades = integer("trades"), comma(), let takerBase = decimal("taker buy base volume"), comma(),
                let takerQuote = decimal("taker buy quote volume"), comma(), ignore()
            else { return nil }
            return Kline(
                openTime: openTime, open: open, high: high, low: low, close: close, volume: volume,
                closeTime: closeTime, quoteVolume: quoteVolume, trades: trades, takerBuyBaseVolume: takerBase,
                takerBuyQuoteVolume: takerQuote)
        }

        mutating func fail(_ reason: String) -> Bool {
            failure = reason
            return false
        }

        mutating func comma() -> Bool {
            guard i < end, bytes[i] == 0x2C else { return fail("expected 12 comma-separated fields") }
            i += 1
            return true
        }

        mutating func integer(_ field: String) -> Int64? {
            let start = i
            var value: Int64 = 0
            while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                guard i - start < 18 else {
                    failure = "\(field) is too large"
                    return nil
                }
                value = value * 10 + Int64(bytes[i] - 0x30)
                i += 1
            }
            guard i > start, i == end || bytes[i] == 0x2C else {
                failure = "\(field) is not a non-negative integer"
                return nil
            }
            guard i - start == 1 || bytes[start] != 0x30 else {
                failure = "\(field) has a leading zero"
                return nil
            }
            return value
        }

        /// A time in ms or µs, returned in ms.
        mutating func time(_ field: String) -> Int64? {
            guard let value = integer(field) else { return nil }
            return value >= ArchiveTable.microsecondThreshold ? value / 1000 : value
        }

        mutating func decimal(_ field: String) -> String? {
            let start = i
            var digits = 0
            var dot = false
            var fraction = 0
            while i < end, bytes[i] != 0x2C {
                let c = bytes[i]
                if c >= 0x30 && c <= 0x39 {
                    if dot { fraction += 1 } else { digits += 1 }
                } else if c == 0x2E && !dot {
                    dot = true
                } else {
                    failure = "\(field) is not a well-formed decimal"
                    return nil
                }
                i += 1
            }
            guard digits > 0, !dot || fraction > 0, i - start <= 40 else {
                failure = "\(field) is not a well-formed decimal"
                return nil
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        }

        /// The unused 12th field: short, no comma, nothing after it.
        mutating func ignore() -> Bool {
            let start = i
            while i < end {
                guard bytes[i] != 0x2C, bytes[i] >= 0x20, i - start < 64 else {
                    return fail("a row must have exactly 12 fields")
                }
                i += 1
            }
            return true
        }
    }
}
