/// A saved plan is untrusted input (§11): `apply --plan-file` plans its pairs again — each pair's desired range as
/// the saved plan states it, at the saved plan's `now`, against the ledger and the exchange's markets of today — and
/// applies the saved plan only when that gives exactly its pairs: the same exchange ids, grids, batch sizes, ranges,
/// counts, watermarks, file names and tasks. An edited id, range, count or path is refused before anything is
/// fetched or written.
package enum SavedPlanCheck {
    /// The plan file whose planning gives `document`'s pairs again: per pair, absolute bounds at its desired range
    /// (an empty range stays empty), its batch size, and the saved configuration.
    package static func planFile(for document: PlanDocument, path: String) -> PlanFile {
        let location = SourceLocation(file: path, line: 0, column: 0)
        let targets = document.pairs.map { pair in
            let start: Bound
            let end: Bound
            if let desired = pair.desired {
                start = .absolute(desired.lowerBound)
                end = .absolute(desired.upperBound)
            } else {
                start = .absolute(document.nowMs)
                end = .absolute(document.nowMs)
            }
            return PlanTarget(
                location: location, symbols: [Located(pair.symbol, at: location)],
                timeframes: [Located(pair.timeframe, at: location)], start: Located(start, at: location),
                end: Located(end, at: location), batchLimit: Located(pair.batchLimit, at: location))
        }
        let config = document.config
        var file = PlanFile(
            path: path, version: 1, exchange: config.exchange, market: config.market, baseURL: config.baseURL,
            landing: config.landing, ledger: config.ledger, columns: config.columns,
            defaults: PlanDefaults(sleepMs: config.sleepMs), targets: targets)
        file.archive = config.archive
        file.archiveURL = config.archiveURL
        return file
    }

    /// Checks what can be checked before planning: every batch size is one the market allows, no pair is there
    /// twice. (That its `now` is not after the exchange's clock is checked by the planning.)
    /// - Returns: what is wrong, or `nil`.
    package static func precheck(_ document: PlanDocument) -> String? {
        var seen: Set<Pair> = []
        for pair in document.pairs {
            guard seen.insert(pair.pair).inserted else { return "\(pair.pair) is there twice" }
            guard (1...document.config.market.maxBatchLimit).contains(pair.batchLimit) else {
                return
                    "\(pair.pair): batch_limit \(pair.batchLimit) is outside 1…\(document.config.market.maxBatchLimit)"
            }
        }
        return nil
    }

    /// The first difference between the saved pairs and the pairs planned again, described for the user; `nil`
    /// when they are the same.
    package static func difference(saved: [PairPlan], derived: [PairPlan]) -> String? {
        guard saved.count == derived.count else {
            return "it has \(saved.count) pairs, planning gives \(derived.count)"
        }
        for (mine, theirs) in zip(saved, derived) {
            let name = "\(mine.symbol) \(mine.timeframe.rawValue)"
            func differs<Value: Equatable>(_ field: String, _ a: Value, _ b: Value) -> String? {
                a == b ? nil : "\(name): \(field) \(a), planning gives \(b)"
            }
            if let d = differs("symbol_id", mine.symbolId, theirs.symbolId) { return d }
            if let d = differs("grid origin", mine.grid.originMs, theirs.grid.originMs) { return d }
            if let d = differs("desired range", describe(mine.desired), describe(theirs.desired)) { return d }
            if let d = differs("trading", mine.trading, theirs.trading) { return d }
            if let d = differs("watermark_ms", describe(mine.watermarkMs), describe(theirs.watermarkMs)) { return d }
            if let d = differs("desired_candles", mine.desiredCandles, theirs.desiredCandles) { return d }
            if let d = differs("covered_candles", mine.coveredCandles, theirs.coveredCandles) { return d }
            if let d = differs("task count", mine.tasks.count, theirs.tasks.count) { return d }
            for (index, (task, planned)) in zip(mine.tasks, theirs.tasks).enumerated() where task != planned {
                let at = "\(name) task \(index + 1)"
                if task.symbol != planned.symbol {
                    return "\(at): symbol \(task.symbol), planning gives \(planned.symbol)"
                }
                if task.symbolId != planned.symbolId {
                    return "\(at): symbol_id \(task.symbolId), planning gives \(planned.symbolId)"
                }
                if task.range != planned.range { return "\(at): range \(task.range), planning gives \(planned.range)" }
                if task.candles != planned.candles {
                    return "\(at): candles \(task.candles), planning gives \(planned.candles)"
                }
                if task.path != planned.path { return "\(at): path \(task.path), planning gives \(planned.path)" }
                return "\(at): timeframe or grid differ from planning's"
            }
        }
        return nil
    }

    private static func describe(_ range: TimeRange?) -> String { range.map(\.description) ?? "none" }
    private static func describe(_ ms: Int64?) -> String { ms.map(String.init) ?? "none" }
}

/// `apply --plan-file` with a saved plan that planning does not give again (edited, or made against other markets).
package struct SavedPlanMismatch: Error, Equatable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String {
        "saved plan \(path) is not what planning gives now (\(reason)); nothing was fetched: run plan --out again"
    }
}
