/// The human form of a plan (§1): per pair a `#` header and its `+ fetch` lines, findings as `- delete`,
/// `~ repair` and `! drift`, then one summary line.
package enum PlanRenderer {
    package static func text(_ plan: Plan) -> String {
        guard plan.hasChanges else { return "No changes. Coverage is complete.\n" }
        var out = ""
        for pair in plan.pairs where !pair.tasks.isEmpty {
            let desired = pair.desired.map(interval) ?? "nothing"
            let watermark = pair.watermarkMs.map(ISO8601Instant.format) ?? "none"
            out += "# \(pair.symbol) \(pair.timeframe.rawValue) (\(pair.symbolId)): want \(desired), "
            out += "\(pair.desiredCandles) candles, \(pair.coveredCandles) covered, watermark \(watermark)\n"
            for task in pair.tasks {
                out += "+ fetch \(task.symbol) \(task.timeframe.rawValue) \(interval(task.range)) \(task.candles) "
                out += task.candles == 1 ? "candle\n" : "candles\n"
            }
            out += "\n"
        }
        for finding in plan.findings {
            let sign: String
            switch finding.disposition {
            case .delete: sign = "- delete"
            case .repair: sign = "~ repair"
            case .fetch, .report, .info: sign = "! drift"
            }
            var line = "\(sign) \(finding.kind.rawValue)"
            if let symbol = finding.symbol { line += " \(symbol)" }
            if let timeframe = finding.timeframe { line += " \(timeframe.rawValue)" }
            if let range = finding.range { line += " \(interval(range))" }
            if let path = finding.path { line += " \(path)" }
            out += "\(line): \(finding.detail)\n"
        }
        if !plan.findings.isEmpty { out += "\n" }
        out += summaryLine(plan.summary) + "\n"
        return out
    }

    package static func summaryLine(_ s: PlanSummary) -> String {
        let archive = s.archiveChunks.map { ", \($0) from the archive" } ?? ""
        return "Plan: \(s.chunks) chunks to fetch (\(s.candles) candles, ~\(s.requests) requests, ~\(s.weight) weight"
            + "\(archive)), \(s.duplicates) duplicates to delete, \(s.drift) drift findings."
    }

    /// `[2017-08-17T04:00Z, 2017-08-17T20:40Z)`.
    package static func interval(_ range: TimeRange) -> String {
        "[\(ISO8601Instant.format(range.lowerBound)), \(ISO8601Instant.format(range.upperBound)))"
    }
}
