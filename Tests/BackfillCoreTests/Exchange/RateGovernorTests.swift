import BackfillTestSupport
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

struct RateGovernorTests {
    /// 2023-11-14T22:13:00Z: the start of a minute.
    static let minute: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000

    @Test func spendsUpToTheLimitLessTheMarginThenWaitsForTheNextWindow() async throws {
        let time = VirtualTimeSource(nowMs: Self.minute)
        let governor = RateGovernor(limit: 1000, windowMs: 60_000, marginFraction: 0.05, time: time)
        #expect(await governor.margin == 50)
        var sent = 0
        while time.nowMs() < Self.minute + 60_000 {
            let ticket = try await governor.acquire(weight: 10)
            guard time.nowMs() < Self.minute + 60_000 else { break }
            sent += 10
            await governor.release(ticket, usedWeight: sent)
        }
        #expect(sent == 950)
        #expect(time.sleeps == [60_001])
        #expect(await governor.stats.windowWaits == 1)
    }

    @Test func theServerHeaderCountsOtherClientsAndTheirPace() async throws {
        // Halfway through the window, the header says 410: 10 of ours, 400 spent by another process on this IP.
        let time = VirtualTimeSource(nowMs: Self.minute + 30_000)
        let governor = RateGovernor(limit: 1000, windowMs: 60_000, time: time)
        let ticket = try await governor.acquire(weight: 10)
        await governor.release(ticket, usedWeight: 410)
        // At that pace the neighbour spends 400 more before the window ends: the run may reach 1000 − 50 − 400.
        _ = try await governor.acquire(weight: 20)
        _ = try await governor.acquire(weight: 120)
        #expect(time.sleeps.isEmpty, "410 + 140 = 550 fits")
        _ = try await governor.acquire(weight: 1)
        #expect(time.sleeps == [30_001], "551 > 550: wait for the next window")
    }

    @Test func theRequestThatTellsTheLimitIsNotHeldToTheNeighboursPace() async throws {
        // Before exchangeInfo the governor assumes 6000; 6 s into the window a neighbour has spent 2153, a pace
        // that would fill 6000 long before the window ends.
        let time = VirtualTimeSource(nowMs: Self.minute + 6_000)
        let governor = RateGovernor(limit: 6000, windowMs: 60_000, time: time)
        let ticket = try await governor.acquire(weight: 1)
        await governor.release(ticket, usedWeight: 2153)
        // exchangeInfo still goes out at once, even past the assumed limit, and brings the real limit...
        _ = try await governor.acquire(weight: 20, essential: true)
        _ = try await governor.acquire(weight: 6000, essential: true)
        #expect(time.sleeps.isEmpty)
        await governor.configure(limit: 1_000_000, windowMs: 60_000)
        _ = try await governor.acquire(weight: 2)
        #expect(time.sleeps.isEmpty, "a million per minute leaves room at any neighbour's pace")
        // ...whereas under the assumed 6000 an ordinary request waits: that pace fills the next window too, and
        // only after a window without news does the governor send again to learn the truth.
        let assumed = RateGovernor(limit: 6000, windowMs: 60_000, time: time)
        await assumed.release(try await assumed.acquire(weight: 1), usedWeight: 2153)
        _ = try await assumed.acquire(weight: 2)
        #expect(time.sleeps == [54_001, 60_000])
    }

    @Test func inFlightWeightIsReservedAcrossConcurrentRequests() async throws {
        let time = VirtualTimeSource(nowMs: Self.minute)
        let governor = RateGovernor(limit: 100, windowMs: 60_000, marginFraction: 0, time: time)
        var tickets: [RateGovernor.Ticket] = []
        for _ in 0..<10 { tickets.append(try await governor.acquire(weight: 10)) }
        #expect(time.sleeps.isEmpty)
        #expect(await governor.stats.windowWaits == 0)
        _ = try await governor.acquire(weight: 10)
        // No response has come back, yet the 11th request waits for the next window.
        #expect(time.sleeps == [60_001])
        #expect(await governor.stats.windowWaits == 1)
        // Answers from the old window no longer count against the new one.
        for ticket in tickets { await governor.release(ticket, usedWeight: 100) }
        for _ in 0..<9 { _ = try await governor.acquire(weight: 10) }
        #expect(time.sleeps == [60_001])
    }

    @Test func retryAfterIsHonouredExactly() async throws {
        let time = VirtualTimeSource(nowMs: Self.minute + 5_000)
        let governor = RateGovernor(limit: 1000, time: time)
        await governor.rateLimited(retryAfterSeconds: 7)
        _ = try await governor.acquire(weight: 1)
        #expect(time.sleeps.first == 7_000)
        #expect(time.nowMs() >= Self.minute + 12_000)
        #expect(await governor.stats.rateLimited == 1)
    }

    @Test func aBanStopsEveryRequestUntilItEnds() async throws {
        let time = VirtualTimeSource(nowMs: Self.minute)
        let governor = RateGovernor(limit: 1000, time: time)
        let until = await governor.banned(retryAfterSeconds: 120)
        #expect(until == Self.minute + 120_000)
        await #expect(throws: ExchangeError.banned(untilMs: Self.minute + 120_000)) {
            _ = try await governor.acquire(weight: 1)
        }
        time.advance(byMs: 120_000)
        _ = try await governor.acquire(weight: 1)
    }

    @Test func limitsComeFromExchangeInfo() async throws {
        let time = VirtualTimeSource(nowMs: Self.minute)
        let governor = RateGovernor(limit: 6000, time: time)
        await governor.configure(limit: 40, windowMs: 10_000)
        for _ in 0..<19 { _ = try await governor.acquire(weight: 2) }
        #expect(time.sleeps.isEmpty)
        _ = try await governor.acquire(weight: 2)
        #expect(time.sleeps == [10_001])
    }
}

struct RetryPolicyTests {
    @Test func exponentialCeilingsWithFullJitter() {
        let policy = RetryPolicy(maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 3_000)
        #expect((1...6).map(policy.ceilingMs) == [200, 400, 800, 1_600, 3_000, 3_000])
        var a = SeededGenerator(seed: 5)
        var b = SeededGenerator(seed: 5)
        let first = (1...6).map { policy.delayMs(attempt: $0, using: &a) }
        let second = (1...6).map { policy.delayMs(attempt: $0, using: &b) }
        #expect(first == second, "seeded jitter replays")
        for (attempt, delay) in zip(1..., first) { #expect((0...policy.ceilingMs(attempt: attempt)).contains(delay)) }
        var c = SeededGenerator(seed: 6)
        #expect((1...6).map { policy.delayMs(attempt: $0, using: &c) } != first)
    }
}
