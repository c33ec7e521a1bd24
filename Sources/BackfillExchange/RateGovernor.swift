import BackfillModel

/// One weight budget shared by every concurrent request of a run (§8).
///
/// Binance counts request weight per IP in fixed windows (a minute on the production API) and reports the IP's
/// total in `x-mbx-used-weight-1m` on every response; the live ingester and anything else on the host spend from
/// the same budget. The governor therefore trusts the server's header over its own count, reserves the weight of
/// requests in flight, keeps a safety margin for what others spend between two responses, and waits for the next
/// window rather than cross the limit. A 429's `Retry-After` pauses every request for exactly that long; after a
/// 418 it refuses to send anything until the ban ends, and callers stop the run (exit 75).
package actor RateGovernor {
    /// What a request holds between ``acquire(weight:)`` and ``release(_:usedWeight:)``.
    package struct Ticket: Sendable {
        package let weight: Int
        let windowStart: Int64
    }

    /// Counters for the run summary and tests.
    package struct Stats: Sendable, Equatable {
        package var requests = 0
        package var weightSent = 0
        package var windowWaits = 0
        package var rateLimited = 0
        package var maxObservedUsed = 0
        /// The current window's used weight after the last response.
        package var windowUsed = 0
    }

    private let time: any TimeSource
    package private(set) var limit: Int
    package private(set) var windowMs: Int64
    package let marginFraction: Double
    /// Server time − local time, from `/time` (windows are cut on the server's clock).
    private var offsetMs: Int64 = 0
    private var windowStart: Int64 = 0
    private var observed = 0
    private var completedLocal = 0
    private var inFlight = 0
    private var pausedUntil: Int64 = 0
    private var bannedUntil: Int64?
    /// The other clients' pace (weight per ms), from the last header; carried into the next window, where nothing is
    /// known yet at its start (the live ingester spends at a steady pace across windows).
    private var othersPerMs: Double = 0
    /// Whether a header came back in the current window: a pace is carried one window at most, so a run that waited
    /// a whole window on it sends again and learns the truth (never a wait forever on a neighbour who left).
    private var headerInWindow = false
    /// The most the other clients were seen to have spent in the current window, and when the last header came.
    private var othersInWindow = 0
    private var lastHeaderAt: Int64 = 0
    /// What the other clients spent in each of the last whole windows measured one after another (newest last, at
    /// most three; a window's last header's figure, projected to its end when it came early). The most of them is
    /// what is left to them: a steady neighbour spends about as much per window however lumpy its pace, and one
    /// window in which it spent less (a refusal, a pause) does not make the run take its share in the next. Empty
    /// in the first window, or after one without news.
    private var othersRecent: [Int] = []
    package private(set) var stats = Stats()

    /// - Parameters:
    ///   - limit: weight allowed per window (0 = no limit); read from exchangeInfo.
    ///   - windowMs: the window length (60 000 on Binance).
    ///   - marginFraction: the share of the limit left unused for other clients of the same IP.
    package init(limit: Int, windowMs: Int64 = 60_000, marginFraction: Double = 0.05, time: any TimeSource) {
        self.limit = limit
        self.windowMs = max(1, windowMs)
        self.marginFraction = marginFraction
        self.time = time
    }

    /// Adopts the limits exchangeInfo announced and the server's clock offset.
    package func configure(limit: Int, windowMs: Int64, serverOffsetMs: Int64 = 0) {
        self.limit = limit
        self.windowMs = max(1, windowMs)
        offsetMs = serverOffsetMs
    }

    /// The weight the governor will not use in a window.
    package var margin: Int { limit == 0 ? 0 : Int((Double(limit) * marginFraction).rounded(.up)) }

    /// Waits until `weight` fits in the budget and reserves it.
    /// - Parameter essential: the request that tells the real limit (exchangeInfo, once per run): not held to the
    ///   weight budget at all, which is a guess until it answers (the governor assumes Binance's 6000, and a busy
    ///   neighbour, or a server that allows more, would stall the run for a window). 429 pauses and bans still hold.
    /// - Throws: ``ExchangeError/banned(untilMs:)`` while a 418 ban runs.
    package func acquire(weight: Int, essential: Bool = false) async throws -> Ticket {
        while true {
            // A stopping run (SIGINT/SIGTERM) cancels the requests that wait here: they were not sent.
            try Task.checkCancellation()
            let now = time.nowMs() + offsetMs
            if let until = bannedUntil, now < until { throw ExchangeError.banned(untilMs: until) }
            if now < pausedUntil {
                try await time.sleep(untilMs: pausedUntil - offsetMs)
                continue
            }
            roll(now)
            let used = max(observed, completedLocal) + inFlight
            if essential || limit == 0 || used + weight <= allowance(now: now) || (used == 0 && weight > limit - margin)
            {
                inFlight += weight
                stats.requests += 1
                stats.weightSent += weight
                return Ticket(weight: weight, windowStart: windowStart)
            }
            stats.windowWaits += 1
            try await time.sleep(untilMs: windowStart + windowMs - offsetMs + 1)
        }
    }

    /// Returns a reservation with the server's `x-mbx-used-weight-*` value, when it sent one.
    /// - Returns: the current window's used weight as best known (the server's figure, or the run's own count) and
    ///   the window's limit, for the progress line.
    @discardableResult
    package func release(_ ticket: Ticket, usedWeight: Int?) -> (used: Int, limit: Int) {
        roll(time.nowMs() + offsetMs)
        defer { stats.windowUsed = max(observed, completedLocal) }
        // A request sent in an earlier window was counted there; it no longer holds weight in this one.
        guard ticket.windowStart == windowStart else { return (max(observed, completedLocal), limit) }
        inFlight = max(0, inFlight - ticket.weight)
        completedLocal += ticket.weight
        if let usedWeight {
            observed = max(observed, usedWeight)
            stats.maxObservedUsed = max(stats.maxObservedUsed, usedWeight)
            // The others' share: the server's count less ours that are finished (ours still in flight may be in
            // the count too: counted as others', they err on the safe side).
            othersInWindow = max(othersInWindow, observed - completedLocal)
            let now = time.nowMs() + offsetMs
            lastHeaderAt = now
            // In the first half of a window a few requests say little about a pace (others spend in lumps): the
            // estimate only rises then; later in the window it is what the window shows.
            let elapsed = max(now - windowStart, max(windowMs / 10, 1))
            let pace = Double(max(0, observed - completedLocal)) / Double(elapsed)
            othersPerMs = elapsed >= windowMs / 2 ? pace : max(othersPerMs, pace)
            headerInWindow = true
        }
        return (max(observed, completedLocal), limit)
    }

    /// A 429: every request waits exactly `Retry-After` seconds from now.
    package func rateLimited(retryAfterSeconds: Int) {
        let now = time.nowMs() + offsetMs
        stats.rateLimited += 1
        pausedUntil = max(pausedUntil, now + Self.milliseconds(retryAfterSeconds))
        // Binance's Retry-After runs to the end of its window: when it has passed, the budget is fresh, whatever
        // our own window arithmetic says; the next response's header tells the truth again.
        roll(now)
        observed = 0
        completedLocal = 0
        inFlight = 0
    }

    /// A 418: nothing is sent until the ban ends. Returns the ban's end (server time, epoch ms).
    @discardableResult
    package func banned(retryAfterSeconds: Int) -> Int64 {
        let until = time.nowMs() + offsetMs + Self.milliseconds(retryAfterSeconds)
        bannedUntil = max(bannedUntil ?? 0, until)
        return bannedUntil ?? until
    }

    /// Seconds from a server header as milliseconds, bounded (0 … ~12 years) so no sum with a clock overflows.
    static func milliseconds(_ seconds: Int) -> Int64 { Int64(min(max(0, seconds), 400_000_000)) * 1000 }

    /// The weight this run may bring the window to: the limit, less the margin, less what the other clients of
    /// this IP are on course to spend before the window ends (at their pace as last seen, even from an earlier
    /// window).
    private func allowance(now: Int64) -> Int {
        if let last = othersRecent.max() {
            // What the others have yet to spend in this window, if they spend what they spent in the last one.
            return limit - margin - max(0, last - othersInWindow)
        }
        let remaining = max(0, windowStart + windowMs - now)
        let expected = min(Double(limit), othersPerMs * Double(remaining))
        return limit - margin - Int(expected.rounded(.up))
    }

    private func roll(_ now: Int64) {
        let start = now - ((now % windowMs) + windowMs) % windowMs
        if start != windowStart {
            // Only the window right after the one measured is measured by it.
            if headerInWindow && start == windowStart + windowMs {
                let seen = max(lastHeaderAt - windowStart, max(windowMs / 10, 1))
                let total =
                    seen >= windowMs * 3 / 4
                    ? othersInWindow
                    : min(limit, Int((Double(othersInWindow) * Double(windowMs) / Double(seen)).rounded(.up)))
                othersRecent = Array((othersRecent + [total]).suffix(3))
            } else {
                if !headerInWindow { othersPerMs = 0 }
                othersRecent = []
            }
            othersInWindow = 0
            headerInWindow = false
            windowStart = start
            observed = 0
            completedLocal = 0
            inFlight = 0
        }
    }
}
