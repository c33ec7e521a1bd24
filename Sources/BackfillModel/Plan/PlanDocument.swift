import Foundation

/// The JSON form of a plan: what `plan --json` prints and what `plan --out` saves for `apply --plan-file`.
///
/// It carries the plan file's hash and the ledger generation (a saved plan is refused once either moved), the
/// resolved configuration (so `apply` needs nothing else), the pairs with their tasks, findings and the summary.
package struct PlanDocument: Sendable, Equatable, Codable {
    package var formatVersion = 1
    package var command = "plan"
    package var planFile: String
    package var planFileSHA256: String
    package var config: Config
    package var nowMs: Int64
    package var ledgerGeneration: Int64
    package var pairs: [PairPlan]
    package var findings: [Finding]
    package var summary: PlanSummary

    /// What `apply` needs to execute the tasks.
    package struct Config: Sendable, Equatable, Codable {
        package var exchange: ExchangeKind
        package var market: MarketKind
        package var baseURL: String?
        package var landing: String
        package var ledger: String
        package var columns: ColumnSet
        package var sleepMs: Int
        /// The plan's `archive` and `archive_url` as written (`nil`: the default; older saved plans have neither).
        package var archive: ArchiveMode? = nil
        package var archiveURL: String? = nil

        private enum CodingKeys: String, CodingKey {
            case exchange, market, landing, ledger, columns, archive
            case baseURL = "base_url"
            case sleepMs = "sleep_ms"
            case archiveURL = "archive_url"
        }

        /// The archive `apply` reads, or `nil` for REST only (§12): `archive` defaults to `auto` for
        /// `exchange: binance` — except when the plan points REST at another `base_url` and names no `archive_url`:
        /// the tool then contacts no host the plan does not name, and the archive is off unless asked for.
        package var effectiveArchive: (mode: ArchiveMode, url: String)? {
            guard exchange == .binance else { return nil }
            let mode = archive ?? (baseURL != nil && archiveURL == nil ? .off : .auto)
            guard mode != .off else { return nil }
            return (mode, archiveURL ?? ArchiveLayout.productionBaseURL)
        }
        package init(
            exchange: ExchangeKind, market: MarketKind, baseURL: String? = nil, landing: String, ledger: String,
            columns: ColumnSet, sleepMs: Int
        ) {
            self.exchange = exchange
            self.market = market
            self.baseURL = baseURL
            self.landing = landing
            self.ledger = ledger
            self.columns = columns
            self.sleepMs = sleepMs
        }
    }

    package init(plan: Plan, planFile: PlanFile, planFileSHA256: String, absolutePaths: Bool) {
        self.planFile = planFile.path
        self.planFileSHA256 = planFileSHA256
        func resolve(_ path: String) -> String {
            absolutePaths ? URL(fileURLWithPath: path).standardizedFileURL.path : path
        }
        config = Config(
            exchange: planFile.exchange, market: planFile.market, baseURL: planFile.baseURL,
            landing: resolve(planFile.landing),
            // A PostgreSQL URL is kept as a URL, without its password: a saved plan never holds one (apply takes it
            // from PGPASSWORD, the password file, or --ledger).
            ledger: LedgerLocation.isPostgresURL(planFile.ledger)
                ? LedgerLocation.redacted(planFile.ledger) : resolve(planFile.ledger),
            columns: planFile.columns,
            sleepMs: planFile.defaults.sleepMs)
        config.archive = planFile.archive
        config.archiveURL = planFile.archiveURL
        nowMs = plan.nowMs
        ledgerGeneration = plan.ledgerGeneration
        pairs = plan.pairs
        findings = plan.findings
        summary = plan.summary
    }

    /// The plan back from the document.
    package var plan: Plan {
        Plan(
            exchange: config.exchange, market: config.market, nowMs: nowMs, ledgerGeneration: ledgerGeneration,
            pairs: pairs, findings: findings)
    }

    /// Stable JSON: sorted keys, two-space indentation, unescaped slashes, trailing newline.
    package func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    package static func decode(_ data: Data) throws -> PlanDocument {
        try JSONDecoder().decode(PlanDocument.self, from: data)
    }

    private enum CodingKeys: String, CodingKey {
        case command, config, pairs, findings, summary
        case formatVersion = "format_version"
        case planFile = "plan_file"
        case planFileSHA256 = "plan_file_sha256"
        case nowMs = "now_ms"
        case ledgerGeneration = "ledger_generation"
    }
}
