import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Logging

/// Everything `plan` does around the pure planner, on the command's ``CommandRoot``: ask the exchange for its clock
/// and markets (and a listing once per pair, cached in an existing ledger), snapshot the ledger, plan.
///
/// It never creates a ledger or a landing directory: on a missing ledger every desired range is to be fetched.
package struct PlanningSession: Sendable {
    package var plan: PlanFile
    package var planSHA256: String
    package var source: any MarketSource
    /// The command's ledger (opened when first needed), `nil` when there is none yet.
    package var ledgerAccess: LedgerAccess
    package var clock: any TimeSource
    /// Whether markets and listings learnt from the exchange are cached in an existing ledger (`plan`, `apply`);
    /// `audit` changes nothing, not even that.
    package var cachesMarkets = true
    /// Whether the plan carries the drift findings of a quick audit of the landing area (`plan` shows them as
    /// `~ repair` / `- delete` / `! drift`; apply runs the audit itself).
    package var reportsDrift = false
    /// Above this many registered files `plan` reports only the drift the ledger shows (watermarks) and leaves the
    /// landing area's to `audit`: listing a million files takes longer than `plan`'s one-second budget (§9).
    package static let driftScanLimit = 200_000
    /// Plan at this time instead of the exchange's clock (a saved plan planned again at its own `now`); refused when
    /// it is after the exchange's clock.
    package var planAtMs: Int64?
    /// `info`: where the markets came from, listings discovered, the plan per pair.
    package var logger: Logger = .silent

    /// - Parameters:
    ///   - plan: a loaded plan with overrides applied.
    ///   - planSHA256: the hash of the plan file's bytes (saved plans record it).
    ///   - root: the command's ledger, exchange, log and clock.
    package init(plan: PlanFile, planSHA256: String, root: CommandRoot) {
        self.plan = plan
        self.planSHA256 = planSHA256
        source = root.exchange.markets
        ledgerAccess = root.ledgerAccess
        logger = root.logger
        clock = root.clock
    }

    /// Plans against the ledger at `plan.ledger` (or an empty one if it does not exist).
    package func run() async throws -> Plan { try await runWithSnapshot().plan }

    /// Plans, and returns the ledger snapshot the plan was made from (apply keeps it for watermarks). The caller
    /// closes the source.
    package func runWithSnapshot() async throws -> (plan: Plan, snapshot: LedgerSnapshot) {
        try await makePlan()
    }

    /// How long cached markets are trusted before exchangeInfo is asked again.
    package static let marketCacheTTLMs: Int64 = 24 * 3_600_000

    /// The markets cache is the one write a reader makes, and an optional one: while another program holds the
    /// ledger's write lock past the busy timeout it is skipped (asked again next time), never waited for.
    private func cacheIfFree(_ markets: [Market], in ledger: Ledger) throws {
        do {
            try ledger.cacheMarkets(markets, exchange: plan.exchange)
        } catch LedgerError.busy {
            logger.notice("ledger \(ledger.path) busy: the markets cache is not updated this time")
        }
    }

    private func makePlan() async throws -> (plan: Plan, snapshot: LedgerSnapshot) {
        let serverNow = try await source.serverTime()
        let now = planAtMs ?? serverNow
        guard now <= serverNow else {
            throw SavedPlanMismatch(
                path: plan.path, reason: "its now_ms \(now) is after the exchange's clock, \(serverNow)")
        }
        let pairs = plan.pairs
        var markets: [String: Market] = [:]
        var fromCache = false
        if source.usesMarketCache, let ledger = try ledgerAccess.get() {
            // A remote exchange is asked for exchangeInfo only when the ledger's cache lacks a symbol or is stale,
            // so a run with nothing to do costs one /time request; or when a planned market was not trading: its
            // status decides whether the time after its last candle is a gap, so a resumption is seen at once.
            let cached = try ledger.cachedMarkets(
                exchange: plan.exchange, market: plan.market, since: clock.nowMs() - Self.marketCacheTTLMs)
            for market in cached { markets[market.symbol] = market }
            fromCache = pairs.allSatisfy { markets[$0.symbol.value]?.isTrading == true }
        }
        if fromCache {
            logger.info("markets from the ledger's cache (\(markets.count) symbols)")
        } else {
            logger.info("markets from exchangeInfo")
            markets = [:]
            for market in try await source.markets() where market.market == plan.market {
                markets[market.symbol] = market
            }
        }
        // Every symbol is resolved before the ledger is opened for the snapshot: a bad plan leaves no trace.
        for pair in pairs { _ = try Planner.resolve(pair.symbol, in: markets) }
        let ledger = try ledgerAccess.get()
        var snapshot =
            try ledger?.snapshot(exchange: plan.exchange, market: plan.market, pairs: pairs.map(\.pair))
            ?? .empty
        if let ledger, cachesMarkets, source.usesMarketCache, !fromCache {
            let used = Set(pairs.map(\.symbol.value))
            let known = markets.values.filter { used.contains($0.symbol) }.map { market in
                var market = market
                if market.listedAtMs == nil { market.listedAtMs = snapshot.listings[market.symbol] }
                return market
            }
            try cacheIfFree(known, in: ledger)
        }
        // Listing discovery: once per symbol ever, when neither exchangeInfo nor the ledger's cache has it.
        var discovered: [Market] = []
        for pair in pairs {
            let market = try Planner.resolve(pair.symbol, in: markets)
            guard market.listedAtMs == nil, snapshot.listings[market.symbol] == nil,
                !discovered.contains(where: { $0.symbol == market.symbol })
            else { continue }
            var found = market
            found.listedAtMs = try await source.firstCandle(of: market)
            guard let listedAt = found.listedAtMs else { throw PlanningError.listingUnknown(symbol: market.symbol) }
            snapshot.listings[market.symbol] = listedAt
            logger.info("listing of \(market.symbol) discovered: first candle at \(listedAt)")
            discovered.append(found)
        }
        if let ledger, cachesMarkets, !discovered.isEmpty {
            try cacheIfFree(discovered, in: ledger)
            snapshot.generation = try ledger.generation()
        }
        if let ledger, snapshot.pairs.values.contains(where: { !$0.external.isEmpty }) {
            var grids: [Pair: CandleGrid] = [:]
            for pair in pairs {
                let market = try Planner.resolve(pair.symbol, in: markets)
                grids[pair.pair] = CandleGrid(
                    pair.timeframe, listedAtMs: snapshot.listings[market.symbol] ?? market.listedAtMs)
            }
            try ExternalCoverage(
                ledger: ledger, landing: LandingArea(path: plan.landing), exchange: plan.exchange, market: plan.market
            ).resolve(&snapshot, grids: grids)
        }
        var made = try Planner(plan: plan, markets: markets, snapshot: snapshot, nowMs: now).makePlan()
        made.archive = PlanDocument.Config(plan).effectiveArchive?.mode
        for pair in made.pairs {
            let candles = pair.tasks.reduce(0) { $0 + $1.candles }
            let status = pair.trading ? "" : ", market not trading"
            logger.info("\(pair.pair): \(pair.tasks.count) chunks to fetch (\(candles) candles)\(status)")
        }
        if reportsDrift, let ledger {
            var auditor = Auditor(
                plan: made, snapshot: snapshot, ledger: ledger, landing: LandingArea(path: plan.landing),
                columns: plan.columns)
            let files = try ledger.fileCount()
            auditor.scanLanding = files <= Self.driftScanLimit
            if !auditor.scanLanding { made.landingNotScanned = files }
            let report = try await auditor.run()
            made.findings = report.findings.filter { $0.kind != .gap && $0.kind != .exchangeGap }
        }
        return (made, snapshot)
    }
}
