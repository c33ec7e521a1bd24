import BackfillModel
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A faithful loopback Binance for tests and benchmarks: HTTP/1.1 with keep-alive on 127.0.0.1, Binance's
/// endpoints, weight accounting, 429/418, error codes, and injected faults (5xx, resets, slow and truncated
/// responses).
package final class FakeBinanceServer: Sendable {
    package let port: Int
    /// The address it listens on: 127.0.0.1, or a test's own network-namespace host address.
    package let host: String
    package let state: FakeBinanceState
    private let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let task: Task<Void, Never>

    package var baseURL: String { "http://\(host):\(port)" }

    /// Starts a server on `host:port` (0 = a free port): loopback, or an address a test made for its own hosts.
    package static func start(
        config: FakeBinanceConfig, port: Int = 0, host: String = "127.0.0.1"
    ) async throws -> FakeBinanceServer {
        let state = FakeBinanceState(config: config)
        let router = FakeBinanceRouter(state: state)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
        let boundPort = channel.channel.localAddress?.port ?? port
        let task = Task<Void, Never> {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection, router: router) }
                    }
                }
            }
        }
        return FakeBinanceServer(port: boundPort, host: host, state: state, channel: channel, task: task)
    }

    private init(
        port: Int, host: String, state: FakeBinanceState,
        channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        task: Task<Void, Never>
    ) {
        self.port = port
        self.host = host
        self.state = state
        self.channel = channel
        self.task = task
    }

    /// Stops accepting connections and waits for the accept loop to end.
    package func shutdown() async {
        try? await channel.channel.close()
        // Cancelling the accept loop ends the keep-alive connections still open.
        task.cancel()
        await task.value
    }

    /// Serves one keep-alive connection until the client closes it or a fault does.
    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, router: FakeBinanceRouter
    ) async {
        do {
            let address = connection.channel.remoteAddress?.ipAddress ?? "unknown"
            try await connection.executeThenClose { inbound, outbound async throws -> Void in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead): head = requestHead
                    case .body: continue
                    case .end:
                        guard let request = head else { continue }
                        let (path, query) = split(request.uri)
                        let client = request.headers["X-Client"].first ?? "tool"
                        let response = router.respond(path: path, query: query, client: client, address: address)
                        switch response.fault {
                        case .reset:
                            // SO_LINGER 0 turns the close into a TCP reset.
                            if let provider = connection.channel as? any SocketOptionProvider {
                                try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                            }
                            return
                        case .slow(let ms):
                            try await Task.sleep(for: .milliseconds(ms))
                        default: break
                        }
                        var headers = HTTPHeaders(response.headers)
                        headers.add(name: "Content-Length", value: String(response.body.count))
                        let keepAlive = request.isKeepAlive && response.fault != .truncated
                        if !keepAlive { headers.add(name: "Connection", value: "close") }
                        let status = HTTPResponseStatus(statusCode: response.status)
                        try await outbound.write(
                            .head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                        if response.fault == .truncated {
                            // Announce the whole body, send half, hang up.
                            let half = response.body.prefix(max(1, response.body.count / 2))
                            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: half))))
                            return
                        }
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                        try await outbound.write(.end(nil))
                        head = nil
                        if !keepAlive { return }
                    }
                }
            }
        } catch {
            // A client that hangs up mid-response is none of the fake's business.
        }
    }

    static func split(_ uri: String) -> (String, String) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}
