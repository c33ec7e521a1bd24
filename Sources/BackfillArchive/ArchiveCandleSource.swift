import BackfillExchange
import BackfillModel

/// The archive as a ``CandleSource`` in front of REST (§12): a task whose range lies inside published archive
/// periods is read from their verified files (a task straddling two periods reads both); the rest — the recent
/// tail, files that cannot be used, and tasks whose archive rows leave holes — goes to `rest` (with
/// `archive: only`, such a task is reported and left).
///
/// A task is served from the archive only when the archive holds every candle of its grid: a hole could be an
/// exchange gap or a truncated archive day (Binance has re-uploaded such days), and only REST can tell, so the task
/// is fetched over REST and REST's answer is written — the archive can never create a silent hole. The chunk grid,
/// file names and CSV bytes do not depend on the source.
package struct ArchiveCandleSource: CandleSource {
    package let rest: any CandleSource
    package let store: ArchiveStore
    package let mode: ArchiveMode

    package init(rest: any CandleSource, store: ArchiveStore, mode: ArchiveMode) {
        self.rest = rest
        self.store = store
        self.mode = mode
    }

    package var counters: RequestCounters? { rest.counters }

    /// What happens to the candles of a file that cannot be used.
    var fallback: String { mode == .auto ? "its candles are fetched over REST" : "its tasks are left for a later run" }

    package func announce(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async {
        await store.pin(urls(task, market: market, serverNowMs: serverNowMs))
    }

    package func finished(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async {
        await store.unpin(urls(task, market: market, serverNowMs: serverNowMs))
    }

    /// The archive files a task reads first (its months or days; a fallback's days are not counted).
    func urls(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) -> [String] {
        (ArchiveLayout.periods(for: task.range, timeframe: task.timeframe, nowMs: serverNowMs) ?? []).map {
            url($0.period, task: task, market: market)
        }
    }

    /// The zip of `period` for the task's symbol and interval.
    func url(_ period: ArchivePeriod, task: PlanTask, market: MarketKind) -> String {
        store.layout.url(market: market, symbolId: task.symbolId, timeframe: task.timeframe, period: period)
    }

    /// REST's answer (what `audit --verify-remote` compares a REST-made file with).
    package func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline] {
        try await rest.fetch(task, market: market)
    }

    package func sourced(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async throws -> SourcedCandles {
        switch await archived(task, market: market, serverNowMs: serverNowMs) {
        case .served(let rows, let files):
            return .archive(rows, files: files)
        case .notServed(let reason):
            guard mode == .auto else { return .unavailable(reason) }
            return .rest(try await rest.closedCandles(task, market: market, serverNowMs: serverNowMs))
        case .holes(let rows, let files):
            guard mode == .auto else {
                return .unavailable("the archive misses \(task.candles - Int64(rows.count)) candles of the task")
            }
            // Exchange gaps or a truncated file: REST tells, and its answer is what the file holds.
            let answer = try await rest.closedCandles(task, market: market, serverNowMs: serverNowMs)
            let archived = Set(rows.lazy.map(\.openTime))
            let lacking = answer.filter { !archived.contains($0.openTime) }
            // Each file is blamed for the candles of its own period that REST has and it lacks.
            for file in files {
                let count = lacking.lazy.filter { file.range.contains($0.openTime) }.count
                guard count > 0 else { continue }
                await store.warn(
                    file.url, "lacks \(count) candles of \(task.symbol) \(task.timeframe) \(task.range) that REST has",
                    consequence: "the tasks it leaves holes in are fetched over REST")
            }
            return .rest(answer)
        }
    }

    enum Outcome {
        case served([Kline], [ArchiveFileRef])
        case notServed(String)
        /// Fewer rows than the task's grid: exchange gaps or a truncated file.
        case holes([Kline], [ArchiveFileRef])
    }

    /// The task's candles from the archive, when the archive has every one of them.
    func archived(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async -> Outcome {
        guard
            let periods = ArchiveLayout.periods(for: task.range, timeframe: task.timeframe, nowMs: serverNowMs)
        else { return .notServed("not in the published archive yet") }
        var rows: [Kline] = []
        var files: [ArchiveFileRef] = []
        for (period, part) in periods {
            let days =
                period.kind == .monthly
                ? ArchiveLayout.days(for: part, timeframe: task.timeframe, nowMs: serverNowMs) : nil
            let instead = days != nil ? "its days are read from the daily files" : fallback
            if let read = await read(
                period, part: part, task: task, market: market, instead: instead, serverNowMs: serverNowMs)
            {
                if rows.isEmpty { rows = read.rows } else { rows += read.rows }
                files += read.files
                continue
            }
            // A month that cannot be used is read from its days where the interval has them.
            guard let days else { return .notServed("an archive file of the task cannot be used") }
            for (day, dayPart) in days {
                guard
                    let read = await read(
                        day, part: dayPart, task: task, market: market, instead: fallback, serverNowMs: serverNowMs)
                else {
                    return .notServed("an archive file of the task cannot be used")
                }
                rows += read.rows
                files += read.files
            }
        }
        // Archive periods are days old: every candle is closed (checked, not copied).
        let closed = rows.allSatisfy { $0.closeTime < serverNowMs } ? rows : rows.filter { $0.closeTime < serverNowMs }
        guard closed.count == rows.count, Int64(rows.count) == task.candles else { return .holes(closed, files) }
        return .served(rows, files)
    }

    /// One period's rows inside `part`, validated as a REST page is; `nil` when the file cannot be used.
    func read(
        _ period: ArchivePeriod, part: TimeRange, task: PlanTask, market: MarketKind, instead: String,
        serverNowMs: Int64
    ) async -> (rows: [Kline], files: [ArchiveFileRef])? {
        let url = self.url(period, task: task, market: market)
        let table: ArchiveTable
        let ref: ArchiveFileRef
        switch await store.load(url, range: period.range) {
        case .table(let loaded, let verified):
            (table, ref) = (loaded, verified)
            // The next period starts downloading while this one's tasks run (after this one was marked as used, so
            // that it is not the one the cache lets go).
            let next = period.next
            if ArchiveLayout.expectedFrom(next) <= serverNowMs {
                await store.prefetch(
                    self.url(next, task: task, market: market),
                    range: next.range)
            }
        case .unusable(let reason):
            await store.warn(url, reason, consequence: instead)
            return nil
        }
        do {
            let rows = try table.rows(in: part)
            try KlinesValidator.validate(
                rows, grid: task.grid, startTime: part.lowerBound, endTime: part.upperBound - 1, limit: Int.max)
            return (rows, rows.isEmpty ? [] : [ref])
        } catch {
            await store.markUnusable(url, "its CSV is malformed (\(error))")
            await store.warn(url, "its CSV is malformed (\(error))", consequence: instead)
            return nil
        }
    }
}
