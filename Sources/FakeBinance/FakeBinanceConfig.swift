import BackfillModel
import Foundation

/// Everything that describes one fake Binance: the market it serves, its clock, its rate limits and the faults it
/// injects. Read from a JSON file by `fake-binance --config FILE`; every key is optional.
///
/// ```json
/// { "market": {"seed": 7, "instruments": [...], "gaps": [...], "off_grid_candles": [...], "flat_every": 97},
///   "clock": {"frozen_ms": 1720000000000},
///   "weight": {"limit": 6000, "window_ms": 60000},
///   "bans": {"strikes": 2, "base_seconds": 120, "max_seconds": 259200},
///   "faults": {"seed": 1, "server_error_json": 0.1, "server_error_html": 0.1, "reset": 0.1, "slow": 0.1,
///              "truncated": 0.1, "slow_ms": 50},
///   "page_cache": true,
///   "overrides": [{"endpoint": "klines", "status": 200, "body": "[[\"x\"]]", "repeat": 1, "headers": {}}] }
/// ```
///
/// `overrides` (hostile-server tests): every request to that endpoint (`time`, `exchangeInfo`, `klines`) gets this
/// answer instead — wrong types, missing fields, absurd values; `repeat` makes a huge body (`prefix` once, `body`
/// that many times joined by `separator`, then `suffix`).
///
/// `page_cache` (benchmarks only, with a frozen clock): keep each klines body once rendered and answer the same
/// request from memory, so that a warmed fake spends its CPU on HTTP rather than on generating candles: on a
/// 2-core machine the server otherwise takes as much CPU as the client it is serving.
package struct FakeBinanceConfig: Sendable, Codable, Equatable {
    package var market: MarketConfig
    package var clock: Clock
    package var weight: Weight
    package var bans: Bans
    package var faults: Faults
    package var pageCache: Bool
    package var overrides: [Override] = []
    package var archive = Archive()

    /// The bulk archive under `/data/…` (``FakeArchive``).
    package struct Archive: Sendable, Codable, Equatable {
        /// Hours after a day ends (or, for a monthly file, after the first Monday of the next month) until its file
        /// is published.
        package var dailyDelayHours: Int
        /// Futures files of periods from this instant on start with a header row (Binance added it around 2022).
        package var futuresHeaderFromMs: Int64
        /// A quirk per file name (`BTCUSDT-1m-2024-01.zip`).
        package var quirks: [String: Quirk]

        package enum Quirk: String, Sendable, Codable, Equatable {
            case missing, truncated, reupload
            case badChecksum = "bad_checksum"
            case badZip = "bad_zip"
            case noChecksum = "no_checksum"
        }

        package init(
            dailyDelayHours: Int = 6, futuresHeaderFromMs: Int64 = 1_640_995_200_000, quirks: [String: Quirk] = [:]
        ) {
            self.dailyDelayHours = dailyDelayHours
            self.futuresHeaderFromMs = futuresHeaderFromMs
            self.quirks = quirks
        }

        private enum CodingKeys: String, CodingKey {
            case quirks
            case dailyDelayHours = "daily_delay_hours"
            case futuresHeaderFromMs = "futures_header_from_ms"
        }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            dailyDelayHours = try c.decodeIfPresent(Int.self, forKey: .dailyDelayHours) ?? 6
            futuresHeaderFromMs = try c.decodeIfPresent(Int64.self, forKey: .futuresHeaderFromMs) ?? 1_640_995_200_000
            quirks = try c.decodeIfPresent([String: Quirk].self, forKey: .quirks) ?? [:]
        }
    }

    /// A canned answer for every request to one endpoint.
    package struct Override: Sendable, Codable, Equatable {
        package var endpoint: String
        package var status: Int
        package var body: String
        package var prefix: String
        package var suffix: String
        package var separator: String
        package var repeatCount: Int
        package var headers: [String: String]

        package init(
            endpoint: String, status: Int = 200, body: String, prefix: String = "", suffix: String = "",
            separator: String = "", repeatCount: Int = 1, headers: [String: String] = [:]
        ) {
            self.endpoint = endpoint
            self.status = status
            self.body = body
            self.prefix = prefix
            self.suffix = suffix
            self.separator = separator
            self.repeatCount = repeatCount
            self.headers = headers
        }

        private enum CodingKeys: String, CodingKey {
            case endpoint, status, body, prefix, suffix, separator, headers
            case repeatCount = "repeat"
        }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            endpoint = try c.decode(String.self, forKey: .endpoint)
            status = try c.decodeIfPresent(Int.self, forKey: .status) ?? 200
            body = try c.decode(String.self, forKey: .body)
            prefix = try c.decodeIfPresent(String.self, forKey: .prefix) ?? ""
            suffix = try c.decodeIfPresent(String.self, forKey: .suffix) ?? ""
            separator = try c.decodeIfPresent(String.self, forKey: .separator) ?? ""
            repeatCount = try c.decodeIfPresent(Int.self, forKey: .repeatCount) ?? 1
            headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
        }

        /// The bytes of the body.
        var bytes: [UInt8] {
            var out = Array(prefix.utf8)
            let piece = Array(body.utf8)
            let gap = Array(separator.utf8)
            out.reserveCapacity(out.count + max(1, repeatCount) * (piece.count + gap.count) + suffix.utf8.count)
            for index in 0..<max(1, repeatCount) {
                if index > 0 { out += gap }
                out += piece
            }
            out += Array(suffix.utf8)
            return out
        }
    }

    package init(
        market: MarketConfig = .standard, clock: Clock = Clock(), weight: Weight = Weight(), bans: Bans = Bans(),
        faults: Faults = Faults(), pageCache: Bool = false
    ) {
        self.market = market
        self.clock = clock
        self.weight = weight
        self.bans = bans
        self.faults = faults
        self.pageCache = pageCache
    }

    /// The exchange clock: frozen at an instant, or the machine's clock moved by an offset.
    package struct Clock: Sendable, Codable, Equatable {
        package var frozenMs: Int64?
        package var offsetMs: Int64

        package init(frozenMs: Int64? = nil, offsetMs: Int64 = 0) {
            self.frozenMs = frozenMs
            self.offsetMs = offsetMs
        }

        private enum CodingKeys: String, CodingKey {
            case frozenMs = "frozen_ms"
            case offsetMs = "offset_ms"
        }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            frozenMs = try c.decodeIfPresent(Int64.self, forKey: .frozenMs)
            offsetMs = try c.decodeIfPresent(Int64.self, forKey: .offsetMs) ?? 0
        }
    }

    /// Each client IP's request-weight budget per window (`0` = unlimited), shared by every client on one machine
    /// (one address); clients on other hosts (other addresses) have budgets of their own, as on Binance.
    package struct Weight: Sendable, Codable, Equatable {
        package var limit: Int
        package var windowMs: Int64

        package init(limit: Int = 6000, windowMs: Int64 = 60_000) {
            self.limit = limit
            self.windowMs = windowMs
        }

        private enum CodingKeys: String, CodingKey {
            case limit
            case windowMs = "window_ms"
        }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            limit = try c.decodeIfPresent(Int.self, forKey: .limit) ?? 6000
            windowMs = try c.decodeIfPresent(Int64.self, forKey: .windowMs) ?? 60_000
        }

        /// The header suffix and exchangeInfo interval for the window (`1m` / MINUTE 1, `10s` / SECOND 10).
        package var headerSuffix: String {
            windowMs % 60_000 == 0 ? "\(windowMs / 60_000)m" : "\(max(1, windowMs / 1000))s"
        }
    }

    /// 418 bans: after `strikes` requests sent while a 429's Retry-After is still running, the IP is banned for
    /// `base_seconds`, doubling with each ban up to `max_seconds` (Binance: 2 minutes to 3 days).
    package struct Bans: Sendable, Codable, Equatable {
        package var strikes: Int
        package var baseSeconds: Int
        package var maxSeconds: Int

        package init(strikes: Int = 2, baseSeconds: Int = 120, maxSeconds: Int = 259_200) {
            self.strikes = strikes
            self.baseSeconds = baseSeconds
            self.maxSeconds = maxSeconds
        }

        private enum CodingKeys: String, CodingKey {
            case strikes
            case baseSeconds = "base_seconds"
            case maxSeconds = "max_seconds"
        }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            strikes = try c.decodeIfPresent(Int.self, forKey: .strikes) ?? 2
            baseSeconds = try c.decodeIfPresent(Int.self, forKey: .baseSeconds) ?? 120
            maxSeconds = try c.decodeIfPresent(Int.self, forKey: .maxSeconds) ?? 259_200
        }
    }

    /// Fault injection: each rate is the probability (0…1) that a request gets that fault, drawn from `seed`.
    package struct Faults: Sendable, Codable, Equatable {
        package var seed: UInt64
        package var serverErrorJSON: Double
        package var serverErrorHTML: Double
        package var reset: Double
        package var slow: Double
        package var truncated: Double
        package var slowMs: Int

        package init(
            seed: UInt64 = 1, serverErrorJSON: Double = 0, serverErrorHTML: Double = 0, reset: Double = 0,
            slow: Double = 0, truncated: Double = 0, slowMs: Int = 200
        ) {
            self.seed = seed
            self.serverErrorJSON = serverErrorJSON
            self.serverErrorHTML = serverErrorHTML
            self.reset = reset
            self.slow = slow
            self.truncated = truncated
            self.slowMs = slowMs
        }

        /// Every fault at the same rate.
        package static func all(_ rate: Double, seed: UInt64 = 1, slowMs: Int = 20) -> Faults {
            Faults(
                seed: seed, serverErrorJSON: rate, serverErrorHTML: rate, reset: rate, slow: rate, truncated: rate,
                slowMs: slowMs)
        }

        private enum CodingKeys: String, CodingKey {
            case seed, reset, slow, truncated
            case serverErrorJSON = "server_error_json"
            case serverErrorHTML = "server_error_html"
            case slowMs = "slow_ms"
        }

        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
            serverErrorJSON = try c.decodeIfPresent(Double.self, forKey: .serverErrorJSON) ?? 0
            serverErrorHTML = try c.decodeIfPresent(Double.self, forKey: .serverErrorHTML) ?? 0
            reset = try c.decodeIfPresent(Double.self, forKey: .reset) ?? 0
            slow = try c.decodeIfPresent(Double.self, forKey: .slow) ?? 0
            truncated = try c.decodeIfPresent(Double.self, forKey: .truncated) ?? 0
            slowMs = try c.decodeIfPresent(Int.self, forKey: .slowMs) ?? 200
        }
    }

    private enum CodingKeys: String, CodingKey {
        case market, clock, weight, bans, faults, overrides, archive
        case pageCache = "page_cache"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        market = try c.decodeIfPresent(MarketConfig.self, forKey: .market) ?? .standard
        clock = try c.decodeIfPresent(Clock.self, forKey: .clock) ?? Clock()
        weight = try c.decodeIfPresent(Weight.self, forKey: .weight) ?? Weight()
        bans = try c.decodeIfPresent(Bans.self, forKey: .bans) ?? Bans()
        faults = try c.decodeIfPresent(Faults.self, forKey: .faults) ?? Faults()
        pageCache = try c.decodeIfPresent(Bool.self, forKey: .pageCache) ?? false
        overrides = try c.decodeIfPresent([Override].self, forKey: .overrides) ?? []
        archive = try c.decodeIfPresent(Archive.self, forKey: .archive) ?? Archive()
    }

    /// Reads a config file.
    package static func load(path: String) throws -> FakeBinanceConfig {
        try JSONDecoder().decode(FakeBinanceConfig.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
