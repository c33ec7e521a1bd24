import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec

/// What `audit` found (§7), in text and JSON.
package struct AuditReport: Sendable, Equatable, Codable {
    package var findings: [Finding] = []
    /// Registered files checked.
    package var files = 0
    /// The plan's pairs.
    package var pairs = 0
    /// Files re-fetched from the exchange (`--verify-remote`).
    package var verified = 0
    /// Whether every registered file was hashed and its candles checked.
    package var deep: Bool
    /// What `apply` repairs, with what it needs to do so (not part of the JSON: the findings say it).
    package var repairs: [Repair] = []
    /// Registered files whose stat differed from their row but whose content is the registered content, by id:
    /// `apply` records these stats so the files are not hashed again until they change (not part of the JSON).
    package var statsSeen: [Int64: FileStat] = [:]

    package init(deep: Bool) { self.deep = deep }

    /// Findings that need attention: every kind but `exchange_gap` (information).
    package var problems: [Finding] { findings.filter { $0.kind != .exchangeGap } }

    /// Exit 2 when anything needs attention.
    package var isClean: Bool { problems.isEmpty }

    package var countsByKind: [String: Int] {
        var counts: [String: Int] = [:]
        for finding in findings { counts[finding.kind.rawValue, default: 0] += 1 }
        return counts
    }

    /// One line per finding, then a summary line.
    package var text: String {
        var out = ""
        for finding in findings {
            var line = finding.kind.rawValue
            if let symbol = finding.symbol { line += " \(symbol)" }
            if let timeframe = finding.timeframe { line += " \(timeframe.rawValue)" }
            if let range = finding.range { line += " " + PlanRenderer.interval(range) }
            if let path = finding.path { line += " \(path)" }
            out += line + ": " + finding.detail + "\n"
        }
        let scope =
            "\(files) registered files, \(pairs) planned pairs\(deep ? ", deep" : "")"
            + (verified > 0 ? ", \(verified) files re-fetched" : "")
        let gaps = findings.count - problems.count
        let info = gaps > 0 ? " (\(gaps) confirmed exchange gaps)" : ""
        if isClean {
            out += "Audit clean: \(scope)\(info).\n"
        } else {
            let kinds = countsByKind.filter { $0.key != Finding.Kind.exchangeGap.rawValue }.sorted { $0.key < $1.key }
                .map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            out += "Audit: \(problems.count) findings (\(kinds)) in \(scope)\(info).\n"
        }
        return out
    }

    private enum CodingKeys: String, CodingKey {
        case findings, files, pairs, verified, deep
    }

    /// What audit found; the stats seen on the way are bookkeeping, not findings.
    package static func == (a: AuditReport, b: AuditReport) -> Bool {
        a.findings == b.findings && a.files == b.files && a.pairs == b.pairs && a.verified == b.verified
            && a.deep == b.deep && a.repairs == b.repairs
    }
}

/// One repair `apply` makes for a finding (§7's table).
package enum Repair: Sendable, Equatable {
    /// `stray_partial`, `duplicate_file`: the landing-relative path to delete.
    case delete(path: String)
    /// `orphan_file` valid for its name over uncovered time: register it (source `adopted`).
    case adopt(path: String, symbol: String, symbolId: String, timeframe: Timeframe, range: TimeRange)
    /// `missing_file` / `modified_file` of a `downloaded` file: fetch its range again and rewrite it when the
    /// exchange still answers the registered bytes.
    case restore(RegisteredFile)
    /// `watermark` missing or behind: move it forward to the contiguous coverage's end.
    case watermark(pair: Pair, to: Int64)
}
