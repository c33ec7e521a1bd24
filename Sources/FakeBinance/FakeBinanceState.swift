import Foundation
import Synchronization

/// The fake's mutable state, shared by every connection: each client IP's weight window, 429 strikes and bans (as
/// Binance keeps them, per IP: every client on one machine shares one budget, clients on other hosts have their
/// own), the fault generator and counters. One lock; every method is short.
package final class FakeBinanceState: Sendable {
    /// What the server has seen, for tests and benchmarks.
    package struct Stats: Sendable, Equatable, Codable {
        package var requests = 0
        package var klinesRequests = 0
        package var weightUsed = 0
        package var rateLimited = 0
        package var banned = 0
        package var faults = 0
        package var bansIssued = 0
        /// The last 64 request paths (with queries), oldest first.
        package var recent: [String] = []
        /// Weight admitted per window (keyed by the window's start, ms) and per client (the request's `X-Client`
        /// header, `tool` without one): how much of a window each client of the IP spent. The last 512 windows.
        package var windows: [Int64: [String: Int]] = [:]
        /// Weight admitted per client IP address.
        package var weightByAddress: [String: Int] = [:]
        /// Klines requests admitted per client IP address.
        package var klinesByAddress: [String: Int] = [:]
        /// How many times each klines query (path and query string) was admitted: a chunk fetched twice shows.
        package var klinesQueries: [String: Int] = [:]
    }

    /// The verdict on one request's weight.
    package enum Admission: Equatable {
        /// Served; the window's used weight after it.
        case admitted(used: Int)
        /// 429: retry after this many seconds.
        case rateLimited(used: Int, retryAfter: Int)
        /// 418: banned until this instant (wall-clock ms).
        case banned(used: Int, untilMs: Int64, retryAfter: Int)
    }

    /// A fault to inject into one response.
    package enum Fault: Equatable {
        case serverErrorJSON
        case serverErrorHTML
        case reset
        case slow(ms: Int)
        case truncated
    }

    /// One client IP's weight window, strikes and ban.
    private struct Budget {
        var windowStart: Int64 = 0
        var used = 0
        /// 429s answered whose Retry-After has not yet passed.
        var cooldownUntil: Int64 = 0
        var strikes = 0
        var bannedUntil: Int64 = 0
        var bans = 0
    }

    private struct Inner {
        var budgets: [String: Budget] = [:]
        var rng: UInt64
        var stats = Stats()
    }

    package let config: FakeBinanceConfig
    private let inner: Mutex<Inner>
    private let pages = Mutex<[String: String]>([:])

    package init(config: FakeBinanceConfig) {
        self.config = config
        inner = Mutex(Inner(rng: config.faults.seed))
    }

    package var stats: Stats { inner.withLock { $0.stats } }

    /// A klines body: from the page cache when `page_cache` is on and the clock frozen, else rendered by `make`.
    package func page(_ key: String, make: () -> String) -> String {
        guard config.pageCache, config.clock.frozenMs != nil else { return make() }
        if let body = pages.withLock({ $0[key] }) { return body }
        let body = make()
        pages.withLock { $0[key] = body }
        return body
    }

    /// The wall clock in ms (weight windows and bans run on real time even when the candle clock is frozen).
    package static func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The exchange clock (what `/time` answers and what decides which candle is open).
    package func serverTime() -> Int64 {
        config.clock.frozenMs ?? (Self.wallMs() + config.clock.offsetMs)
    }

    /// Charges `weight` to the IP, or refuses it (429, escalating to 418 bans for those who keep going).
    package func admit(
        weight: Int, isKlines: Bool, path: String = "", client: String = "tool", address: String = "127.0.0.1",
        now: Int64 = FakeBinanceState.wallMs()
    )
        -> Admission
    {
        inner.withLock { inner in
            var budget = inner.budgets[address] ?? Budget()
            defer { inner.budgets[address] = budget }
            return Self.admit(
                weight: weight, isKlines: isKlines, path: path, client: client, address: address, now: now,
                budget: &budget, stats: &inner.stats, config: config)
        }
    }

    private static func admit(
        weight: Int, isKlines: Bool, path: String, client: String, address: String, now: Int64, budget s: inout Budget,
        stats: inout Stats, config: FakeBinanceConfig
    ) -> Admission {
        do {
            stats.requests += 1
            stats.recent.append(path)
            if stats.recent.count > 64 { stats.recent.removeFirst() }
            if isKlines { stats.klinesRequests += 1 }
            let window = config.weight.windowMs
            let start = now - now % window
            if start != s.windowStart {
                s.windowStart = start
                s.used = 0
            }
            let remainingWindow = Int((start + window - now + 999) / 1000)
            if now < s.bannedUntil {
                stats.banned += 1
                return .banned(
                    used: s.used, untilMs: s.bannedUntil, retryAfter: Int((s.bannedUntil - now + 999) / 1000))
            }
            if now < s.cooldownUntil {
                // Still hammering after a 429: a strike; enough strikes and the IP is banned.
                s.strikes += 1
                if s.strikes >= config.bans.strikes {
                    let seconds = min(config.bans.maxSeconds, config.bans.baseSeconds << min(s.bans, 20))
                    s.bans += 1
                    s.strikes = 0
                    s.bannedUntil = now + Int64(seconds) * 1000
                    stats.banned += 1
                    stats.bansIssued += 1
                    return .banned(used: s.used, untilMs: s.bannedUntil, retryAfter: seconds)
                }
                stats.rateLimited += 1
                return .rateLimited(used: s.used, retryAfter: max(1, Int((s.cooldownUntil - now + 999) / 1000)))
            }
            if config.weight.limit > 0 && s.used + weight > config.weight.limit {
                s.cooldownUntil = start + window
                stats.rateLimited += 1
                return .rateLimited(used: s.used, retryAfter: max(1, remainingWindow))
            }
            s.used += weight
            stats.weightUsed += weight
            stats.windows[start, default: [:]][client, default: 0] += weight
            stats.weightByAddress[address, default: 0] += weight
            if isKlines {
                stats.klinesByAddress[address, default: 0] += 1
                stats.klinesQueries[path, default: 0] += 1
            }
            if stats.windows.count > 512, let oldest = stats.windows.keys.min() {
                stats.windows.removeValue(forKey: oldest)
            }
            return .admitted(used: s.used)
        }
    }

    /// Draws the fault (if any) for the next response.
    package func drawFault() -> Fault? {
        let f = config.faults
        let total = f.serverErrorJSON + f.serverErrorHTML + f.reset + f.slow + f.truncated
        guard total > 0 else { return nil }
        return inner.withLock { s in
            s.rng = s.rng &+ 0x9e37_79b9_7f4a_7c15
            var z = s.rng
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            var draw = Double(z >> 11) / Double(1 << 53)
            let kinds: [(Double, Fault)] = [
                (f.serverErrorJSON, .serverErrorJSON), (f.serverErrorHTML, .serverErrorHTML), (f.reset, .reset),
                (f.slow, .slow(ms: f.slowMs)), (f.truncated, .truncated),
            ]
            for (rate, fault) in kinds {
                if draw < rate {
                    s.stats.faults += 1
                    return fault
                }
                draw -= rate
            }
            return nil
        }
    }
}
