import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Logging

/// Everything `audit` does around the ``Auditor``: plan against the exchange's clock and the ledger (without
/// writing even the markets cache), then compare. It never creates a ledger or a landing directory.
package struct AuditSession: Sendable {
    package var loaded: LoadedPlan
    package var frozenNowMs: Int64?
    package var apiKey: String?
    package var deep = false
    package var verifyRemote = 0
    package var logger: Logger = .silent

    package init(loaded: LoadedPlan, frozenNowMs: Int64?, apiKey: String?) {
        self.loaded = loaded
        self.frozenNowMs = frozenNowMs
        self.apiKey = apiKey
    }

    package func run() async throws -> AuditReport {
        let file = loaded.file
        let root = CommandRoot.make(
            config: PlanDocument.Config(file), createLedger: false, frozenNowMs: frozenNowMs, apiKey: apiKey,
            logger: logger)
        let source = root.exchange.markets
        do {
            let ledger = try root.ledger()
            let landing = root.landing
            // The landing area and the ledger's rows are read while the plan is made (a million files: the read
            // is most of the time).
            let deep = deep
            let scan = Task { () async throws -> Auditor.Scan? in
                guard let ledger else { return nil }
                return try await Auditor.scan(
                    ledger: ledger, landing: landing, exchange: file.exchange, market: file.market, stat: deep)
            }
            var session = PlanningSession(plan: file, planSHA256: loaded.sha256, root: root)
            session.cachesMarkets = false
            let planned: (plan: Plan, snapshot: LedgerSnapshot)
            do {
                planned = try await session.runWithSnapshot()
            } catch {
                scan.cancel()
                _ = try? await scan.value
                throw error
            }
            var auditor = Auditor(
                plan: planned.plan, snapshot: planned.snapshot, ledger: ledger, landing: landing, columns: file.columns)
            auditor.prefetched = try await scan.value
            let plan = planned.plan
            auditor.deep = deep
            auditor.verifyRemote = verifyRemote
            auditor.remote = root.exchange.candles(plan.nowMs)
            auditor.archive = root.exchange.archive
            let report = try await auditor.run()
            await source.close()
            return report
        } catch {
            await source.close()
            throw error
        }
    }
}
