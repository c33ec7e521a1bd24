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
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Modules along dependency lines (the compiler keeps the boundaries): the model is pure (Foundation only);
        // the plan-file loader is the only module importing Yams, the ledger the only one importing GRDB, the
        // exchange client the only one importing the HTTP stack; the engine composes them; the executable parses
        // arguments. See Documentation/Architecture.md.
        .target(name: "BackfillModel"),
        // glibc's mmap threshold, fixed by the executable at start (its header says why).
        .target(name: "CAllocator"),
        // zlib's crc32 for zip entries (ZipReader.swift), linked from the system zlib that ZIPFoundation uses too.
        .target(name: "CZlibCRC", linkerSettings: [.linkedLibrary("z")]),
        .target(
            name: "BackfillSpec",
            dependencies: [
                "BackfillModel",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "BackfillLedger",
            dependencies: [
                "BackfillModel", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "BackfillExchange",
            dependencies: [
                "BackfillModel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "BackfillArchive",
            dependencies: [
                "BackfillModel", "BackfillSpec", "BackfillExchange", "CZlibCRC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .target(
            name: "BackfillEngine",
            dependencies: [
                "BackfillModel", "BackfillSpec", "BackfillLedger", "BackfillExchange", "BackfillArchive",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "FakeBinance",
            dependencies: [
                "BackfillModel", "BackfillSpec", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "fake-binance",
            dependencies: ["FakeBinance", "BackfillModel"]
        ),
        .executableTarget(
            name: "backfill-tool",
            dependencies: [
                "BackfillEngine", "BackfillModel", "BackfillSpec", "BackfillLedger", "BackfillExchange", "CAllocator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BackfillTestSupport",
            dependencies: ["BackfillEngine", "BackfillModel", "BackfillExchange", "BackfillLedger", "FakeBinance"]
        ),
        .testTarget(
            name: "BackfillCoreTests",
            dependencies: [
                "BackfillEngine", "BackfillModel", "BackfillSpec", "BackfillLedger", "BackfillExchange",
                "BackfillArchive", "BackfillTestSupport", "FakeBinance",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .testTarget(
            name: "BackfillToolTests",
            dependencies: [
                "BackfillEngine", "BackfillModel", "BackfillSpec", "BackfillLedger", "BackfillExchange",
                "BackfillTestSupport", "FakeBinance", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Fixtures", "Snapshots"]
        ),
    ]
)

// Benchmarks are built only on request (Hummingbird's gate), so the normal build and CI stay lean.
if ProcessInfo.processInfo.environment["BACKFILL_BENCHMARKS"] != nil {
    package.targets.append(
        .executableTarget(
            name: "backfill-bench",
            dependencies: [
                "BackfillEngine", "BackfillModel", "BackfillSpec", "BackfillLedger", "BackfillExchange", "FakeBinance",
            ],
            path: "Benchmarks/BackfillBenchmarks"
        )
    )
}

// libFuzzer targets (`Scripts/fuzz.sh`), built only on request and in their own build folder: our modules are
// instrumented (-sanitize=fuzzer,address); libFuzzer provides `main`.
if ProcessInfo.processInfo.environment["BACKFILL_FUZZ"] != nil {
    let fuzzing: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]
    for target in package.targets where ["BackfillModel", "BackfillSpec"].contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + fuzzing
    }
    for (name, dependencies) in [
        ("FuzzKlines", ["BackfillModel"]), ("FuzzCSV", ["BackfillModel"]),
        ("FuzzPlan", ["BackfillModel", "BackfillSpec"]),
    ] {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: dependencies.map { .byName(name: $0) }, path: "Fuzz/\(name)",
                swiftSettings: fuzzing + [.unsafeFlags(["-parse-as-library"])],
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]))
    }
}

for target in package.targets where target.type != .plugin && !["CAllocator", "CZlibCRC"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
