import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// `apply`'s default parallelism from the rate budget (§5).
struct ApplyParallelismTests {
    @Test(arguments: [
        // Spot: 6000/min at weight 2 → 45 requests/s × 250 ms.
        (6000, MarketKind.spot, 1000, 12),
        // USD-M: 2400/min at weight 2 (499 candles) → 18 requests/s × 250 ms.
        (2400, .usdm, 499, 5),
        // USD-M at 1000 candles (weight 5): fewer requests fit in the budget.
        (2400, .usdm, 1000, 2),
        // A tiny budget still runs 2; a huge one is capped at 16.
        (60, .spot, 1000, 2),
        (1_000_000, .spot, 1000, 16),
    ])
    func rateLimitedExchangesGetWhatTheirBudgetNeeds(limit: Int, market: MarketKind, batch: Int, expected: Int) {
        let weight = market.klinesWeight(limit: batch)
        #expect(ApplyParallelism.automatic(weightLimitPerMinute: limit, weightPerRequest: weight, cores: 2) == expected)
    }

    @Test func withoutALimitTheMachineDecides() {
        #expect(ApplyParallelism.automatic(weightLimitPerMinute: 0, weightPerRequest: 2, cores: 2) == 8)
        #expect(ApplyParallelism.automatic(weightLimitPerMinute: 0, weightPerRequest: 2, cores: 1) == 4)
        #expect(ApplyParallelism.automatic(weightLimitPerMinute: 0, weightPerRequest: 2, cores: 64) == 16)
    }
}
