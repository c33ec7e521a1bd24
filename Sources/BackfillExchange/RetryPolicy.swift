import BackfillModel

/// Exponential backoff with full jitter, as data: attempt `n` (1-based) waits a uniformly random time in
/// `[0, min(maxDelayMs, baseDelayMs × 2^(n-1))]`, drawn from a seeded generator so tests can replay it.
package struct RetryPolicy: Sendable, Equatable {
    /// Total tries of one request for retryable failures (5xx, 408, resets, timeouts, unparsable bodies).
    package var maxAttempts: Int
    package var baseDelayMs: Int64
    package var maxDelayMs: Int64
    /// Total 429s one request may sit out (each waits its `Retry-After`) before the run gives up.
    package var maxRateLimitWaits: Int

    package init(
        maxAttempts: Int = 6, baseDelayMs: Int64 = 200, maxDelayMs: Int64 = 10_000,
        maxRateLimitWaits: Int = 20
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelayMs = baseDelayMs
        self.maxDelayMs = maxDelayMs
        self.maxRateLimitWaits = maxRateLimitWaits
    }

    /// The upper bound of the wait before retry number `attempt` (1 = the first retry).
    package func ceilingMs(attempt: Int) -> Int64 {
        let shift = min(max(attempt - 1, 0), 30)
        return min(maxDelayMs, baseDelayMs << Int64(shift))
    }

    /// The jittered wait before retry number `attempt`.
    package func delayMs(attempt: Int, using generator: inout some RandomNumberGenerator) -> Int64 {
        Int64.random(in: 0...ceilingMs(attempt: attempt), using: &generator)
    }
}

/// SplitMix64: a small seeded generator for jitter.
package struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
