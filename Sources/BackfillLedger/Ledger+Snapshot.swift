import BackfillModel

extension Ledger {
    /// Reads the coverage of `pairs` in one read transaction.
    ///
    /// Ranges come out of the `files_coverage` index already ordered by `t_start`, so building each pair's
    /// ``RangeSet`` is a single merge pass with no sort: this is what keeps `plan` under a second on a ledger of a
    /// million files.
    package func snapshot(exchange: ExchangeKind, market: MarketKind, pairs: [Pair]) throws -> LedgerSnapshot {
        try read { db in
            var snapshot = LedgerSnapshot(generation: try Self.generation(db), exists: true)
            let fileSQL = """
                SELECT t_start, t_end FROM files INDEXED BY files_coverage
                WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                ORDER BY t_start, t_end
                """
            let gapSQL = """
                SELECT t_start, t_end FROM exchange_gaps
                WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                ORDER BY t_start, t_end
                """
            // Files other programs registered: few, found through their partial index; the engine checks that
            // they hold the candles their ranges claim (``PairCoverage/external``).
            let externalSQL = """
                SELECT id, path, t_start, t_end, rows FROM files INDEXED BY files_external
                WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ? AND source = 'external'
                ORDER BY t_start
                """
            for pair in pairs {
                let arguments: [(any LedgerBindable)?] = [
                    exchange.rawValue, market.rawValue, pair.symbol, pair.timeframe.rawValue,
                ]
                var count = 0
                let files = try Self.readRanges(fileSQL, arguments: arguments, db: db, count: &count)
                var ignored = 0
                let gaps = try Self.readRanges(gapSQL, arguments: arguments, db: db, count: &ignored)
                let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
                let watermark = try db.fetchOne(
                    Int64.self, sql: "SELECT value_ms FROM watermarks WHERE name = ?", arguments: [name])
                var coverage = PairCoverage(files: files, gaps: gaps, fileCount: count, watermark: watermark)
                try db.forEachRow(sql: externalSQL, arguments: arguments) { row in
                    guard let range = TimeRange(try row.decode(atIndex: 2), try row.decode(atIndex: 3)) else {
                        return
                    }
                    coverage.external.append(
                        ExternalFileRange(
                            id: try row.decode(atIndex: 0), path: try row.decode(atIndex: 1), range: range,
                            rows: try row.decode(atIndex: 4)))
                }
                snapshot.pairs[pair] = coverage
            }
            for row in try db.fetchAll(
                sql: "SELECT symbol, listed_at_ms FROM markets WHERE exchange = ? AND market = ?",
                arguments: [exchange.rawValue, market.rawValue])
            {
                if let listed: Int64 = try row.decode(atIndex: 1) {
                    snapshot.listings[try row.decode(atIndex: 0)] = listed
                }
            }
            return snapshot
        }
    }

    private static func readRanges(
        _ sql: String, arguments: [(any LedgerBindable)?], db: any LedgerConnection, count: inout Int
    )
        throws -> RangeSet
    {
        var ranges: [TimeRange] = []
        try db.forEachRow(sql: sql, arguments: arguments) { row in
            let start: Int64 = try row.decode(atIndex: 0)
            let end: Int64 = try row.decode(atIndex: 1)
            if let range = TimeRange(start, end) { ranges.append(range) }
        }
        count = ranges.count
        return RangeSet(sortedRanges: ranges)
    }
}

extension Ledger {
    /// One pair's file ranges without the files `excluded` (files ∪ nothing else), in one read.
    package func fileRanges(
        exchange: ExchangeKind, market: MarketKind, pair: Pair, excluding excluded: Set<Int64>
    ) throws -> RangeSet {
        try read { db in
            var ranges: [TimeRange] = []
            try db.forEachRow(
                sql: """
                    SELECT id, t_start, t_end FROM files INDEXED BY files_coverage
                    WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                    ORDER BY t_start, t_end
                    """, arguments: [exchange.rawValue, market.rawValue, pair.symbol, pair.timeframe.rawValue]
            ) { row in
                let id: Int64 = try row.decode(atIndex: 0)
                guard !excluded.contains(id),
                    let range = TimeRange(try row.decode(atIndex: 1), try row.decode(atIndex: 2))
                else { return }
                ranges.append(range)
            }
            return RangeSet(sortedRanges: ranges)
        }
    }
}

extension Ledger {
    /// One pair's coverage as the ledger holds it now (files ∪ exchange gaps), inside a transaction: what
    /// cooperating workers move a watermark by, since each knows only its own commits.
    static func coverage(
        exchange: ExchangeKind, market: MarketKind, pair: Pair, db: any LedgerConnection
    ) throws -> RangeSet {
        let arguments: [(any LedgerBindable)?] = [
            exchange.rawValue, market.rawValue, pair.symbol, pair.timeframe.rawValue,
        ]
        var ignored = 0
        let files = try readRanges(
            """
            SELECT t_start, t_end FROM files INDEXED BY files_coverage
            WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
            ORDER BY t_start, t_end
            """, arguments: arguments, db: db, count: &ignored)
        let gaps = try readRanges(
            """
            SELECT t_start, t_end FROM exchange_gaps
            WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
            ORDER BY t_start, t_end
            """, arguments: arguments, db: db, count: &ignored)
        return files.union(gaps)
    }
}
