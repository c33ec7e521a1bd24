import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec

/// How many tasks `apply` runs at once when `--parallelism` is not given (§5: "default chosen from the rate
/// budget").
///
/// Against a rate-limited exchange, the requests in flight needed to spend the budget follow Little's law: in flight
/// = requests per second × seconds per request. The budget is the governor's 90 % of the weight limit per minute,
/// divided by one request's weight; a round trip to Binance is taken as 250 ms (a pessimistic figure: more tasks
/// than needed only wait in the governor, too few leave budget unspent). Without a limit (the fake server, a
/// private mirror) or on the simulated exchange the work is bound by the machine, and 4 tasks per core keep both
/// the network and the disk busy (measured in BENCHMARKS.md).
package enum ApplyParallelism {
    /// What `--parallelism` accepts.
    package static let allowed = 1...64
    /// The automatic choice stays within this.
    package static let automaticRange = 2...16
    /// The connections opened to the exchange when `--parallelism` is automatic (the pool opens only what is used).
    package static let maximumConnections = automaticRange.upperBound

    /// The automatic parallelism.
    /// - Parameters:
    ///   - weightLimitPerMinute: the exchange's limit (0 = none or the simulated exchange).
    ///   - weightPerRequest: one klines request's weight at the plan's batch size.
    ///   - cores: the machine's active processors.
    package static func automatic(weightLimitPerMinute: Int, weightPerRequest: Int, cores: Int) -> Int {
        let bound: Int
        if weightLimitPerMinute <= 0 {
            bound = 4 * max(1, cores)
        } else {
            let requestsPerSecond = 0.9 * Double(weightLimitPerMinute) / 60 / Double(max(1, weightPerRequest))
            bound = Int((requestsPerSecond * 0.25).rounded(.up))
        }
        return min(max(bound, automaticRange.lowerBound), automaticRange.upperBound)
    }
}
