import BackfillModel

/// A syntax error in a klines body, with the byte offset where it was found.
package struct KlinesDecodingError: Error, Equatable, CustomStringConvertible {
    package var offset: Int
    package var reason: String

    package var description: String { "klines body: \(reason) at byte \(offset)" }
}

/// A single-pass parser for Binance's klines body:
/// `[[openTime,"open","high","low","close","volume",closeTime,"quoteVolume",trades,"takerBase","takerQuote","ignore"],…]`.
///
/// It exists because the benchmark showed generic JSON decoding dominating the client (BENCHMARKS.md): this one
/// reads the bytes once, keeps every decimal string byte-exact (no floating point anywhere), and is strict —
/// exactly 12 fields of the right JSON types, integers without sign or fraction, decimals as `digits[.digits]`.
/// Anything else is an error, never "no data". `JSONKlinesDecoder` is the generic reference it is tested against.
package enum KlinesDecoder {
    /// Decodes a whole body.
    /// - Throws: ``KlinesDecodingError``.
    package static func decode(_ bytes: [UInt8]) throws(KlinesDecodingError) -> [Kline] {
        try bytes.withUnsafeBufferPointer { (buffer) throws(KlinesDecodingError) -> [Kline] in
            var parser = Parser(bytes: buffer)
            return try parser.parse()
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func fail(_ reason: String) -> KlinesDecodingError { KlinesDecodingError(offset: i, reason: reason) }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(KlinesDecodingError) {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end, expected \(what)") }
            guard bytes[i] == byte else { throw fail("expected \(what)") }
            i += 1
        }

        mutating func peek() -> UInt8? {
            skipSpace()
            return i < bytes.count ? bytes[i] : nil
        }

        mutating func parse() throws(KlinesDecodingError) -> [Kline] {
            try expect(0x5B, "'['")
            var rows: [Kline] = []
            rows.reserveCapacity(bytes.count / 160 + 1)
            if peek() == 0x5D {
                i += 1
            } else {
                while true {
                    rows.append(try row())
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end, expected ',' or ']'") }
                    if bytes[i] == 0x2C {
                        i += 1
                        continue
                    }
                    if bytes[i] == 0x5D {
                        i += 1
                        break
                    }
                    throw fail("expected ',' or ']'")
                }
            }
            skipSpace()
            guard i == bytes.count else { throw fail("trailing bytes after the array") }
            return rows
        }

        mutating func row() throws(KlinesDecodingError) -> Kline {
            try expect(0x5B, "'[' opening a kline")
            let openTime = try integer("openTime")
            try expect(0x2C, "','")
            let open = try decimal("open")
            try expect(0x2C, "','")
            let high = try decimal("high")
            try expect(0x2C, "','")
            let low = try decimal("low")
            try expect(0x2C, "','")
            let close = try decimal("close")
            try expect(0x2C, "','")
            let volume = try decimal("volume")
            try expect(0x2C, "','")
            let closeTime = try integer("closeTime")
            try expect(0x2C, "','")
            let quoteVolume = try decimal("quoteVolume")
            try expect(0x2C, "','")
            let trades = try integer("trades")
            try expect(0x2C, "','")
            let takerBase = try decimal("takerBuyBaseVolume")
            try expect(0x2C, "','")
            let takerQuote = try decimal("takerBuyQuoteVolume")
            try expect(0x2C, "','")
            _ = try string("ignore")
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x5D else { throw fail("a kline must have exactly 12 fields") }
            i += 1
            return Kline(
                openTime: openTime, open: open, high: high, low: low, close: close, volume: volume,
                closeTime: closeTime, quoteVolume: quoteVolume, trades: trades, takerBuyBaseVolume: takerBase,
                takerBuyQuoteVolume: takerQuote)
        }

        mutating func integer(_ field: String) throws(KlinesDecodingError) -> Int64 {
            skipSpace()
            let start = i
            var value: Int64 = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                guard i - start < 18 else { throw fail("\(field) is too large") }
                value = value * 10 + Int64(bytes[i] - 0x30)
                i += 1
            }
            guard i > start else { throw fail("\(field) must be a non-negative integer") }
            guard i - start == 1 || bytes[start] != 0x30 else { throw fail("\(field) has a leading zero") }
            if i < bytes.count, bytes[i] == 0x2E || bytes[i] == 0x65 || bytes[i] == 0x45 {
                throw fail("\(field) must be an integer")
            }
            return value
        }

        /// A quoted decimal `digits[.digits]`, returned byte-exact.
        mutating func decimal(_ field: String) throws(KlinesDecodingError) -> String {
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x22 else { throw fail("\(field) must be a decimal string") }
            i += 1
            let start = i
            var digits = 0
            var dot = false
            var fractionDigits = 0
            while i < bytes.count, bytes[i] != 0x22 {
                let c = bytes[i]
                if c >= 0x30 && c <= 0x39 {
                    if dot { fractionDigits += 1 } else { digits += 1 }
                } else if c == 0x2E && !dot {
                    dot = true
                } else {
                    throw fail("\(field) is not a well-formed decimal")
                }
                i += 1
            }
            guard i < bytes.count else { throw fail("unterminated string in \(field)") }
            guard digits > 0, !dot || fractionDigits > 0, i - start <= 40 else {
                throw fail("\(field) is not a well-formed decimal")
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            i += 1
            return text
        }

        /// Any short string without escapes (the unused 12th field).
        mutating func string(_ field: String) throws(KlinesDecodingError) -> String {
            skipSpace()
            guard i < bytes.count, bytes[i] == 0x22 else { throw fail("\(field) must be a string") }
            i += 1
            let start = i
            while i < bytes.count, bytes[i] != 0x22 {
                guard bytes[i] != 0x5C, bytes[i] >= 0x20, i - start < 64 else { throw fail("\(field) is malformed") }
                i += 1
            }
            guard i < bytes.count else { throw fail("unterminated string in \(field)") }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            i += 1
            return text
        }
    }
}
