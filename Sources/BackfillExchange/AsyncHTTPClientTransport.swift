import AsyncHTTPClient
import BackfillModel
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The production ``HTTPTransport`` on async-http-client: a keep-alive connection pool, connect and read
/// timeouts, bodies collected up to a bound. The only file that knows the HTTP stack.
package final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient
    private let maxBodyBytes: Int
    private let requestTimeout: TimeAmount
    private let isShutDown = Mutex(false)

    /// - Parameters:
    ///   - connections: the pool's connections per host.
    ///   - maxBodyBytes: larger bodies are refused (an absurd size is an error, not data).
    package init(
        connections: Int = 8, connectTimeoutSeconds: Int64 = 5, readTimeoutSeconds: Int64 = 30,
        maxBodyBytes: Int = 16 << 20
    ) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(connectTimeoutSeconds), read: .seconds(readTimeoutSeconds)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxBodyBytes = maxBodyBytes
        requestTimeout = .seconds(readTimeoutSeconds + connectTimeoutSeconds)
    }

    package func get(_ request: HTTPRequest) async throws -> HTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .GET
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        do {
            let response = try await client.execute(outgoing, timeout: requestTimeout)
            // Straight into one array, sized by Content-Length when given: an archive zip of megabytes is held once,
            // not in a growing buffer and then a copy.
            let expected = response.headers.first(name: "content-length").flatMap { Int($0) }
            if let expected, expected > maxBodyBytes { throw TransportError.bodyTooLarge(maxBodyBytes) }
            var body: [UInt8] = []
            if let expected { body.reserveCapacity(expected) }
            for try await chunk in response.body {
                guard body.count + chunk.readableBytes <= maxBodyBytes else {
                    throw TransportError.bodyTooLarge(maxBodyBytes)
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
            return HTTPResponse(
                status: Int(response.status.code),
                headers: response.headers.map { (name: $0.name, value: $0.value) }, body: body)
        } catch let error as TransportError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded, .connectTimeout: throw TransportError.timeout
            case .remoteConnectionClosed: throw TransportError.connectionClosed("remote closed")
            case .cancelled: throw CancellationError()
            default: throw TransportError.other(String(describing: error))
            }
        } catch is NIOTooManyBytesError {
            throw TransportError.bodyTooLarge(maxBodyBytes)
        } catch let error as ChannelError {
            throw TransportError.connectFailed(String(describing: error))
        } catch let error as IOError {
            if error.errnoCode == ECONNREFUSED { throw TransportError.connectFailed("connection refused") }
            throw TransportError.connectionClosed(String(describing: error))
        } catch {
            throw TransportError.other(String(describing: error))
        }
    }

    /// Closes the pool; call once when done.
    package func shutdown() async {
        guard
            isShutDown.withLock({ done in
                defer { done = true }
                return !done
            })
        else { return }
        try? await client.shutdown()
    }

    deinit {
        // A transport dropped on an error path still releases its pool (async-http-client insists).
        if isShutDown.withLock({ !$0 }) { client.shutdown { _ in } }
    }
}
