import BackfillModel
import FakeBinance
import Foundation

// fake-binance [--config FILE] [--port N]
// Serves Binance's market-data API on 127.0.0.1 and prints "fake-binance listening on http://127.0.0.1:PORT".
// Stop it with SIGINT or SIGTERM.

var configPath: String?
var port = 0
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    switch flag {
    case "--config": configPath = arguments.popFirst()
    case "--port": port = Int(arguments.popFirst() ?? "") ?? -1
    case "--help", "-h":
        print("usage: fake-binance [--config FILE] [--port N]  (listens on 127.0.0.1; port 0 = any free port)")
        exit(0)
    default:
        FileHandle.standardError.write(Data("fake-binance: unknown argument \(flag)\n".utf8))
        exit(64)
    }
}
guard (0...65535).contains(port) else {
    FileHandle.standardError.write(Data("fake-binance: --port must be 0...65535\n".utf8))
    exit(64)
}
let config: FakeBinanceConfig
do {
    config = try configPath.map(FakeBinanceConfig.load) ?? FakeBinanceConfig()
} catch {
    FileHandle.standardError.write(Data("fake-binance: cannot read config \(configPath ?? ""): \(error)\n".utf8))
    exit(64)
}
let server = try await FakeBinanceServer.start(config: config, port: port)
FileHandle.standardOutput.write(Data("fake-binance listening on \(server.baseURL)\n".utf8))
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let signals = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in signals {
    source.setEventHandler {
        let stats = server.state.stats
        FileHandle.standardError.write(
            Data("fake-binance: \(stats.requests) requests, \(stats.rateLimited) × 429, \(stats.banned) × 418\n".utf8))
        exit(0)
    }
    source.resume()
}
while true { try await Task.sleep(for: .seconds(3600)) }
