import BackfillModel
import GRDB

extension Ledger {
    /// Reads the coverage of `pairs` in one read transaction.
    ///
    /// Ranges come out of the `files_coverage` index already ordered by `t_start`, so building each pair's
    /// ``RangeSet`` is a single merge pass with no sort: this is what keeps `plan` under a second on a ledger of a
    /// million files.
    package func snapshot(exchange: ExchangeKind, market: MarketKind, pairs: [Pair]) throws -> LedgerSnapshot {
        try writer.read { db in
            var snapshot = LedgerSnapshot(generation: try Self.generation(db), exists: true)
            let fileStatement = try db.cachedStatement(
                sql: """
                    SELECT t_start, t_end FROM files INDEXED BY files_coverage
                    WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                    ORDER BY t_start, t_end
                    """)
            let gapStatement = try db.cachedStatement(
                sql: """
                    SELECT t_start, t_end FROM exchange_gaps
                    WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                    ORDER BY t_start, t_end
                    """)
            let watermarkStatement = try db.cachedStatement(sql: "SELECT value_ms FROM watermarks WHERE name = ?")
            for pair in pairs {
                let arguments: StatementArguments = [
                    exchange.rawValue, market.rawValue, pair.symbol, pair.timeframe.rawValue,
                ]
                var count = 0
                let files = try Self.readRanges(fileStatement, arguments: arguments, count: &count)
                var ignored = 0
                let gaps = try Self.readRanges(gapStatement, arguments: arguments, count: &ignored)
                let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
                let watermark = try Int64.fetchOne(watermarkStatement, arguments: [name])
                snapshot.pairs[pair] = PairCoverage(files: files, gaps: gaps, fileCount: count, watermark: watermark)
            }
            for row in try Row.fetchAll(
                db, sql: "SELECT symbol, listed_at_ms FROM markets WHERE exchange = ? AND market = ?",
                arguments: [exchange.rawValue, market.rawValue])
            {
                if let listed: Int64 = row[1] { snapshot.listings[row[0]] = listed }
            }
            return snapshot
        }
    }

    private static func readRanges(
        _ statement: Statement, arguments: StatementArguments, count: inout Int
    )
        throws -> RangeSet
    {
        var ranges: [TimeRange] = []
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() {
            let start: Int64 = row[0]
            let end: Int64 = row[1]
            if let range = TimeRange(start, end) { ranges.append(range) }
        }
        count = ranges.count
        return RangeSet(sortedRanges: ranges)
    }
}
