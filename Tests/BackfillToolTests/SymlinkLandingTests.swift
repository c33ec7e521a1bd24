import BackfillTestSupport
import Foundation
import Testing

/// Issue 13 point 9: a symlink inside the landing area that leads outside it is never written through.
@Suite(.serialized)
struct SymlinkLandingTests {
    @Test(arguments: ["simulated/spot/BTCUSDT", "simulated/spot/BTCUSDT/1h", "simulated"])
    func applyRefusesToWriteThroughASymlinkLeadingOut(link: String) async throws {
        let dir = try TemporaryDirectory("symlink")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: 2024-01-03}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        try FileManager.default.createDirectory(atPath: dir.path("outside"), withIntermediateDirectories: true)
        let linkPath = dir.path("incoming/" + link)
        try FileManager.default.createDirectory(
            atPath: (linkPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: linkPath, withDestinationPath: dir.path("outside"))
        let result = try await ToolRunner().run(["apply", "plan.yaml", "--now-ms", "1709251200000"], in: dir.path)
        #expect(result.exitCode == 1, "\(result.stdout)\(result.stderr)")
        #expect(
            result.stderr.contains("a symbolic link leads outside the landing directory"), "\(result.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path("outside")).isEmpty, "nothing written there")
    }

    @Test func aLandingDirectoryReachedThroughASymlinkIsFine() async throws {
        let dir = try TemporaryDirectory("symlink-root")
        try FileManager.default.createDirectory(atPath: dir.path("volume"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: dir.path("incoming"), withDestinationPath: dir.path("volume"))
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: 2024-01-03}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        let result = try await ToolRunner().run(["apply", "plan.yaml", "--now-ms", "1709251200000"], in: dir.path)
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path("volume/simulated/spot/BTCUSDT/1h")))
    }
}
