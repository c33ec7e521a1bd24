import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Synchronization

/// A closure-backed ``HTTPTransport`` for unit tests (openapi's TestClientTransport); it records every request.
package final class ClosureTransport: HTTPTransport, Sendable {
    private let handler: @Sendable (HTTPRequest, Int) async throws -> HTTPResponse
    private let recorded = Mutex<[HTTPRequest]>([])

    /// - Parameter handler: gets the request and its 0-based index.
    package init(_ handler: @escaping @Sendable (HTTPRequest, Int) async throws -> HTTPResponse) {
        self.handler = handler
    }

    package var requests: [HTTPRequest] { recorded.withLock { $0 } }

    package func get(_ request: HTTPRequest) async throws -> HTTPResponse {
        let index = recorded.withLock { list in
            list.append(request)
            return list.count - 1
        }
        return try await handler(request, index)
    }

    /// A response with a JSON body.
    package static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8))
    }
}

/// A ``TimeSource`` in virtual time: sleeping moves the clock forward at once and is recorded, so tests of bans,
/// windows and backoff take microseconds.
package final class VirtualTimeSource: TimeSource, Sendable {
    private let state: Mutex<(now: Int64, sleeps: [Int64])>

    package init(nowMs: Int64 = 1_700_000_000_000) {
        state = Mutex((now: nowMs, sleeps: []))
    }

    package func nowMs() -> Int64 { state.withLock { $0.now } }

    /// Every sleep's length in ms, in order.
    package var sleeps: [Int64] { state.withLock { $0.sleeps } }

    package func advance(byMs delta: Int64) { state.withLock { $0.now += delta } }

    package func sleep(untilMs deadline: Int64) async throws {
        state.withLock { s in
            s.sleeps.append(max(0, deadline - s.now))
            s.now = max(s.now, deadline)
        }
        await Task.yield()
    }
}
