/// The landing CSV format (§4.2): `\n` line endings, rows ascending, decimals exactly as the exchange sent them.
/// The same candles always give the same bytes, hence the same SHA-256.
package enum CSVFormat {
    package static func header(_ columns: ColumnSet) -> String {
        switch columns {
        case .basic: "timestamp,open,high,low,close,volume"
        case .full:
            "timestamp,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base_volume,"
                + "taker_buy_quote_volume"
        }
    }

    /// The whole file for `rows` (which must be ascending and unique by open time).
    package static func render(_ rows: [Kline], columns: ColumnSet) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + rows.count * (columns == .basic ? 80 : 150))
        out.append(contentsOf: header(columns).utf8)
        out.append(0x0A)
        for row in rows {
            append(row.openTime, to: &out)
            append(row.open, to: &out)
            append(row.high, to: &out)
            append(row.low, to: &out)
            append(row.close, to: &out)
            append(row.volume, to: &out)
            if columns == .full {
                out.append(0x2C)
                append(row.closeTime, to: &out)
                append(row.quoteVolume, to: &out)
                out.append(0x2C)
                append(row.trades, to: &out)
                append(row.takerBuyBaseVolume, to: &out)
                append(row.takerBuyQuoteVolume, to: &out)
            }
            out.append(0x0A)
        }
        return out
    }

    /// `,` then the decimal string's bytes.
    @inline(__always)
    private static func append(_ field: String, to out: inout [UInt8]) {
        out.append(0x2C)
        var field = field
        field.withUTF8 { out.append(contentsOf: $0) }
    }

    /// The integer in decimal, without allocating.
    private static func append(_ value: Int64, to out: inout [UInt8]) {
        if value == 0 {
            out.append(0x30)
            return
        }
        if value < 0 { out.append(0x2D) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 19 digits
        var count = 0
        var v = value.magnitude
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v != 0 {
                buffer[count] = UInt8(0x30 + v % 10)
                v /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }
}
