import BackfillModel

/// The clock the rate governor and the retry loop read and sleep on.
///
/// Not `some Clock<Duration>`: Binance's weight windows are aligned to wall-clock minutes, so the governor needs
/// epoch milliseconds, not just instants. Production uses ``SystemTimeSource``; tests use a virtual source whose
/// sleeps return at once and move its time forward, so hour-long bans are tested in microseconds.
package protocol TimeSource: Sendable {
    /// Now, in epoch milliseconds.
    func nowMs() -> Int64
    /// Suspends until `deadline` (epoch ms) or returns at once if it has passed.
    func sleep(untilMs deadline: Int64) async throws
}

/// The machine's clock.
package struct SystemTimeSource: TimeSource {
    package init() {}

    package func nowMs() -> Int64 { WallClock.nowMs() }

    package func sleep(untilMs deadline: Int64) async throws {
        let delay = deadline - nowMs()
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
    }
}
