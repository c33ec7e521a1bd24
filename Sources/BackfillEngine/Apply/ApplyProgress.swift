import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Synchronization

/// Live counters of an `apply`, read by the progress display while the tasks run.
package final class ApplyProgress: Sendable {
    package struct Snapshot: Sendable, Equatable {
        package var tasksTotal = 0
        package var tasksDone = 0
        package var candlesPlanned: Int64 = 0
        package var candles = 0
        package var requests = 0
        package var weight = 0
        package var weightLimit = 0
        package var pairsTotal = 0
        package var pairsDone = 0
        package var startedAt = DispatchTime.now().uptimeNanoseconds
    }

    private let state = Mutex(Snapshot())
    private let remainingPerPair = Mutex([Pair: Int]())
    private let counters = Mutex<RequestCounters?>(nil)

    package init() {}

    /// The counters so far. Over the network the weight is the IP's used weight in the current window (the server's
    /// `x-mbx-used-weight-*`) against the window's limit, and requests are the client's count.
    package var snapshot: Snapshot {
        var snapshot = state.withLock { $0 }
        if let counted = counters.withLock({ $0 })?.snapshot {
            snapshot.requests = counted.dataRequests
            snapshot.weight = counted.windowUsed
            snapshot.weightLimit = counted.weightLimit
        }
        return snapshot
    }

    /// Sets the totals from the plan.
    /// - Parameter counters: the HTTP client's, when the run goes over the network.
    package func start(plan: Plan, weightLimit: Int, counters: RequestCounters? = nil) {
        self.counters.withLock { $0 = counters }
        var perPair: [Pair: Int] = [:]
        for pair in plan.pairs where !pair.tasks.isEmpty {
            perPair[Pair(symbol: pair.symbol, timeframe: pair.timeframe), default: 0] += pair.tasks.count
        }
        remainingPerPair.withLock { $0 = perPair }
        state.withLock { s in
            s.tasksTotal = plan.taskCount
            s.candlesPlanned = plan.summary.candles
            s.pairsTotal = perPair.count
            s.weightLimit = weightLimit
            s.startedAt = DispatchTime.now().uptimeNanoseconds
        }
    }

    /// One task finished (`weight` 0 when it needed no request: adopted, skipped).
    package func finished(_ task: PlanTask, candles: Int, weight: Int) {
        let pairDone = remainingPerPair.withLock { map -> Bool in
            let pair = Pair(symbol: task.symbol, timeframe: task.timeframe)
            map[pair, default: 1] -= 1
            return map[pair] == 0
        }
        state.withLock { s in
            s.tasksDone += 1
            s.candles += candles
            if weight > 0 { s.requests += 1 }
            s.weight += weight
            if pairDone { s.pairsDone += 1 }
        }
    }

    /// `[ 45%] pairs 2/6 · candles 8012/17799 · requests 10 · weight 20/6000 · ETA 3s`.
    package static func line(_ s: Snapshot) -> String {
        let fraction = s.tasksTotal == 0 ? 1 : Double(s.tasksDone) / Double(s.tasksTotal)
        let percent = Int((fraction * 100).rounded(.down))
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - s.startedAt) / 1e9
        var eta = "--"
        if s.tasksDone > 0 && s.tasksDone < s.tasksTotal {
            eta = "\(Int((elapsed / fraction - elapsed).rounded(.up)))s"
        } else if s.tasksDone == s.tasksTotal {
            eta = "0s"
        }
        let limit = s.weightLimit > 0 ? "/\(s.weightLimit)" : ""
        let pad = percent < 10 ? "  " : (percent < 100 ? " " : "")
        return "[\(pad)\(percent)%] pairs \(s.pairsDone)/\(s.pairsTotal) · candles \(s.candles)/\(s.candlesPlanned) · "
            + "requests \(s.requests) · weight \(s.weight)\(limit) · ETA \(eta)"
    }
}
