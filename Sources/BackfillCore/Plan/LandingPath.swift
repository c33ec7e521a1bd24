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
}
