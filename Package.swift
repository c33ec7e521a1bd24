// swift-tools-version: 6.2
import Foundation
import PackageDescription

/// Upcoming features turned on for every target (openapi-generator's settings loop).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

var package = Package(
    name: "backfill-tool",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "backfill-tool", targets: ["backfill-tool"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .target(
            name: "BackfillCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "FakeBinance",
            dependencies: [
                "BackfillCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "fake-binance",
            dependencies: ["FakeBinance", "BackfillCore"]
        ),
        .executableTarget(
            name: "backfill-tool",
            dependencies: [
                "BackfillCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BackfillTestSupport",
            dependencies: ["BackfillCore", "FakeBinance"]
        ),
        .testTarget(
            name: "BackfillCoreTests",
            dependencies: ["BackfillCore", "BackfillTestSupport"]
        ),
        .testTarget(
            name: "BackfillToolTests",
            dependencies: ["BackfillCore", "BackfillTestSupport"],
            exclude: ["Fixtures", "Snapshots"]
        ),
    ]
)

// Benchmarks are built only on request (Hummingbird's gate), so the normal build and CI stay lean.
if ProcessInfo.processInfo.environment["BACKFILL_BENCHMARKS"] != nil {
    package.targets.append(
        .executableTarget(
            name: "backfill-bench",
            dependencies: ["BackfillCore", "FakeBinance"],
            path: "Benchmarks/BackfillBenchmarks"
        )
    )
}

for target in package.targets where target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
