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
        let tf = timeframe.rawValue
        return "\(exchange.rawValue)/\(market.rawValue)/\(symbolId)/\(tf)/"
            + fileName(symbolId: symbolId, timeframe: timeframe, range: range)
    }

    /// `SYMBOLID__tf__tStart_tEnd.csv`, the seed's name.
    package static func fileName(symbolId: String, timeframe: Timeframe, range: TimeRange) -> String {
        "\(symbolId)__\(timeframe.rawValue)__\(range.lowerBound)_\(range.upperBound).csv"
    }
}
