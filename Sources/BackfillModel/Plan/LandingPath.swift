/// Landing-area file names (§4.1): `<exchange>/<market>/<SYMBOLID>/<tf>/<SYMBOLID>__<tf>__<tStart>_<tEnd>.csv`.
package enum LandingPath {
    /// The path of a task's file relative to the landing directory.
    ///
    /// The symbol id is checked to be a safe path component (upper-case letters, digits, `_`, `-`), so no name
    /// built from exchange input can leave the landing directory.
    package static func relativePath(
        exchange: ExchangeKind, market: MarketKind, symbolId: String,
        timeframe: Timeframe, range: TimeRange
    ) -> String {
        precondition(UnifiedSymbol.isSafeSymbolId(symbolId), "unsafe symbol id \(symbolId)")
        return directory(exchange: exchange, market: market, symbolId: symbolId, timeframe: timeframe.rawValue) + "/"
            + fileName(symbolId: symbolId, timeframe: timeframe, range: range)
    }

    /// `SYMBOLID__tf__tStart_tEnd.csv`, the seed's name.
    package static func fileName(symbolId: String, timeframe: Timeframe, range: TimeRange) -> String {
        namePrefix(symbolId: symbolId, timeframe: timeframe.rawValue) + "\(range.lowerBound)_\(range.upperBound).csv"
    }

    /// `<exchange>/<market>`: the family's folder.
    package static func base(exchange: ExchangeKind, market: MarketKind) -> String {
        "\(exchange.rawValue)/\(market.rawValue)"
    }

    /// `<exchange>/<market>/<SYMBOLID>/<tf>`: a pair's folder (`timeframe` as found on disk, which `audit` also
    /// reads for folders of timeframes it does not know).
    package static func directory(
        exchange: ExchangeKind, market: MarketKind, symbolId: String, timeframe: String
    )
        -> String
    {
        base(exchange: exchange, market: market) + "/" + pairDirectory(symbolId: symbolId, timeframe: timeframe)
    }

    /// `<SYMBOLID>/<tf>` below the family's folder.
    package static func pairDirectory(symbolId: String, timeframe: String) -> String { "\(symbolId)/\(timeframe)" }

    /// `SYMBOLID__tf__`: what every one of the pair's file names starts with.
    package static func namePrefix(symbolId: String, timeframe: String) -> String { "\(symbolId)__\(timeframe)__" }

    /// `<prefix><tStart>_<tEnd>.csv` → its range, from raw bytes; `nil` for any other name (or a non-canonical number:
    /// a sign, a leading zero, an empty range).
    package static func range(ofName bytes: UnsafeRawBufferPointer, prefix: [UInt8]) -> TimeRange? {
        let suffix: [UInt8] = Array(".csv".utf8)
        guard bytes.count > prefix.count + suffix.count + 2,
            bytes.starts(with: prefix), bytes[(bytes.count - suffix.count)...].elementsEqual(suffix)
        else { return nil }
        var index = prefix.count
        let end = bytes.count - suffix.count
        func number() -> Int64? {
            let start = index
            var value: Int64 = 0
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(Int64(bytes[index] - 0x30))
                guard !o1, !o2 else { return nil }
                value = plus
                index += 1
            }
            // Canonical decimal only: no empty number, no leading zero (but "0" itself).
            guard index > start, bytes[start] != 0x30 || index - start == 1 else { return nil }
            return value
        }
        guard let lower = number(), index < end, bytes[index] == UInt8(ascii: "_") else { return nil }
        index += 1
        guard let upper = number(), index == end else { return nil }
        return TimeRange(lower, upper)
    }
}
