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
            for field in [row.open, row.high, row.low, row.close, row.volume] {
                out.append(0x2C)
                out.append(contentsOf: field.utf8)
            }
            if columns == .full {
                out.append(0x2C)
                append(row.closeTime, to: &out)
                out.append(0x2C)
                out.append(contentsOf: row.quoteVolume.utf8)
                out.append(0x2C)
                append(row.trades, to: &out)
                out.append(0x2C)
                out.append(contentsOf: row.takerBuyBaseVolume.utf8)
                out.append(0x2C)
                out.append(contentsOf: row.takerBuyQuoteVolume.utf8)
            }
            out.append(0x0A)
        }
        return out
    }

    private static func append(_ value: Int64, to out: inout [UInt8]) {
        if value == 0 {
            out.append(0x30)
            return
        }
        var digits: [UInt8] = []
        var v = value
        let negative = v < 0
        while v != 0 {
            digits.append(UInt8(0x30 + abs(v % 10)))
            v /= 10
        }
        if negative { out.append(0x2D) }
        out.append(contentsOf: digits.reversed())
    }
}
