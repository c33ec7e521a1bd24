import Synchronization

/// What one client sent and met, counted where it happens (in ``BinanceClient/request(_:query:weight:essential:counted:decode:)``),
/// so that every figure a summary or the progress line prints is measured: requests sent (every attempt), retries,
/// 429s, weight spent, and the IP's weight in the current window as the server last reported it.
package final class RequestCounters: Sendable {
    package struct Snapshot: Sendable, Equatable {
        /// HTTP requests sent, every endpoint, every attempt.
        package var requests = 0
        /// Of those, klines pages for data (listing probes excluded).
        package var dataRequests = 0
        /// Requests sent again after a 5xx, 408, a transport error or a body that could not be parsed.
        package var retries = 0
        /// 429 answers (each followed by a wait of exactly its Retry-After).
        package var rateLimited = 0
        /// The weight of every request sent.
        package var weightSent = 0
        /// The IP's used weight in the current window, from the last response's `x-mbx-used-weight-*` header (the
        /// client's own count of the window when the server sends none).
        package var windowUsed = 0
        /// The window's limit (exchangeInfo's, 0 when unknown or unlimited).
        package var weightLimit = 0
    }

    private let state = Mutex(Snapshot())

    package init() {}

    package var snapshot: Snapshot { state.withLock { $0 } }

    package func sent(weight: Int, data: Bool) {
        state.withLock { s in
            s.requests += 1
            if data { s.dataRequests += 1 }
            s.weightSent += weight
        }
    }

    package func retried() { state.withLock { $0.retries += 1 } }

    package func rateLimited() { state.withLock { $0.rateLimited += 1 } }

    package func window(used: Int, limit: Int) {
        state.withLock { s in
            s.windowUsed = used
            s.weightLimit = limit
        }
    }
}
