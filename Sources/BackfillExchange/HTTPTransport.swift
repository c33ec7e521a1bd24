import BackfillModel

/// A GET request to the exchange.
package struct HTTPRequest: Sendable, Equatable {
    package var url: String
    package var headers: [String: String]

    package init(url: String, headers: [String: String] = [:]) {
        self.url = url
        self.headers = headers
    }
}

/// A whole response: status, headers, and the complete body (a body cut short is a ``TransportError``).
package struct HTTPResponse: Sendable, Equatable {
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header called `name`, matched case-insensitively (HTTP/2 serves them lower-case).
    package func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    package static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name):\($0.value)" } == rhs.headers.map { "\($0.name):\($0.value)" }
    }
}

/// The one seam to the network (shaped after openapi-runtime's `ClientTransport`): production uses
/// ``AsyncHTTPClientTransport``; unit tests use a closure.
package protocol HTTPTransport: Sendable {
    /// Sends a GET and returns the complete response.
    /// - Throws: ``TransportError`` when no complete response arrived.
    func get(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// No complete response: always worth retrying.
package enum TransportError: Error, Equatable, CustomStringConvertible {
    case timeout
    case connectionClosed(String)
    case connectFailed(String)
    case bodyTooLarge(Int)
    case other(String)

    package var description: String {
        switch self {
        case .timeout: "request timed out"
        case .connectionClosed(let detail): "connection closed before the response was complete (\(detail))"
        case .connectFailed(let detail): "cannot connect (\(detail))"
        case .bodyTooLarge(let limit): "response body larger than \(limit) bytes"
        case .other(let detail): "network error (\(detail))"
        }
    }
}
