import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// `plan` shows findings by their disposition (a value decided where the finding is made), never by their words.
struct PlanRendererTests {
    static func plan(_ findings: [Finding]) -> Plan {
        Plan(exchange: .simulated, market: .spot, nowMs: 0, ledgerGeneration: 0, pairs: [], findings: findings)
    }

    @Test(arguments: [
        (Finding.Disposition.repair, "~ repair"), (.delete, "- delete"), (.report, "! drift"), (.info, "! drift"),
    ])
    func theSignFollowsTheDisposition(disposition: Finding.Disposition, sign: String) {
        // The same kind and words each time: only the disposition differs.
        let finding = Finding(
            kind: .watermark, symbol: "BTC/USDT", timeframe: .h1, detail: "reported only, apply moves it",
            disposition: disposition)
        #expect(PlanRenderer.text(Self.plan([finding])).hasPrefix("\(sign) watermark BTC/USDT 1h: "))
    }

    @Test func findingsOfAKindGetItsUsualDispositionUnlessTold() {
        #expect(Finding(kind: .duplicateFile, detail: "").disposition == .delete)
        #expect(Finding(kind: .strayPartial, detail: "").disposition == .repair)
        #expect(Finding(kind: .overlap, detail: "").disposition == .report)
        #expect(Finding(kind: .exchangeGap, detail: "").disposition == .info)
        #expect(Finding(kind: .orphanFile, detail: "", disposition: .report).disposition == .report)
    }
}
