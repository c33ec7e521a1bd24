import BackfillModel
import Foundation

/// `backfill-tool run`: the seed job's environment knobs (§10) turned into the equivalent plan, every value checked
/// before anything is touched, every error one line naming its variable.
package enum RunEnvironment {
    /// The per-knob variables (refused together with `PLAN_FILE`: which one would win is ambiguous).
    package static let knobs = [
        "SYMBOLS", "TIMEFRAME", "START_TS", "END_TS", "BATCH_LIMIT", "SLEEP_MS", "MARKET", "LANDING_DIR", "LEDGER_PATH",
        "LEDGER_URL", "BINANCE_BASE_URL", "ARCHIVE", "ARCHIVE_URL",
    ]
    package static let defaultLanding = "/data/incoming"
    package static let defaultLedger = "/data/manifest.sqlite"
    /// The longest `SLEEP_MS` accepted (an hour between requests).
    package static let maxSleepMs = 3_600_000

    /// What `run` applies: a plan file named by `PLAN_FILE`, or the plan the knobs describe.
    package enum Job: Sendable, Equatable {
        case planFile(path: String)
        case plan(LoadedPlan)
    }

    /// A bad value: `VARIABLE: reason`.
    package struct Failure: Error, Equatable, CustomStringConvertible {
        package var variable: String
        package var reason: String
        package var description: String { "\(variable): \(reason)" }
    }

    /// Reads the environment. `API_KEY` / `API_SECRET` are the caller's to pass on; they are never part of the plan
    /// or its hash.
    package static func job(_ environment: [String: String]) throws(Failure) -> Job {
        if let path = environment["PLAN_FILE"] {
            guard !path.isEmpty else { throw Failure(variable: "PLAN_FILE", reason: "is empty") }
            let set = knobs.filter { environment[$0] != nil }
            guard set.isEmpty else {
                throw Failure(
                    variable: "PLAN_FILE",
                    reason: "is set together with \(set.joined(separator: ", ")): give a plan file or the per-knob "
                        + "variables, not both")
            }
            return .planFile(path: path)
        }
        func value(_ name: String) throws(Failure) -> String? {
            guard let raw = environment[name] else { return nil }
            let text = raw.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { throw Failure(variable: name, reason: "is empty") }
            return text
        }
        func integer(_ name: String, _ range: ClosedRange<Int64>) throws(Failure) -> Int64? {
            guard let text = try value(name) else { return nil }
            guard let number = Int64(text), range.contains(number) else {
                throw Failure(
                    variable: name,
                    reason:
                        "'\(Escaped.value(text))' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        let market: MarketKind
        if let text = try value("MARKET") {
            guard let kind = MarketKind(rawValue: text) else {
                throw Failure(variable: "MARKET", reason: "'\(Escaped.value(text))' is not one of spot, usdm, coinm")
            }
            market = kind
        } else {
            market = .spot
        }
        guard let symbolList = try value("SYMBOLS") else {
            throw Failure(variable: "SYMBOLS", reason: "is not set (a comma list of pairs, e.g. BTC/USDT,ETH/USDT)")
        }
        var symbols: [String] = []
        for item in symbolList.split(separator: ",", omittingEmptySubsequences: false) {
            let symbol = item.trimmingCharacters(in: .whitespaces)
            guard UnifiedSymbol.isWellFormed(symbol) else {
                throw Failure(
                    variable: "SYMBOLS",
                    reason: "'\(Escaped.value(symbol))' is not a pair like BTC/USDT (futures: BTC/USDT:USDT)")
            }
            guard !symbols.contains(symbol) else {
                throw Failure(variable: "SYMBOLS", reason: "'\(symbol)' is listed twice")
            }
            symbols.append(symbol)
        }
        guard let timeframeList = try value("TIMEFRAME") else {
            throw Failure(variable: "TIMEFRAME", reason: "is not set (e.g. 1m, or a comma list 1m,1h)")
        }
        var timeframes: [Timeframe] = []
        for item in timeframeList.split(separator: ",", omittingEmptySubsequences: false) {
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let timeframe = Timeframe(rawValue: text) else {
                throw Failure(
                    variable: "TIMEFRAME",
                    reason: "unknown timeframe '\(Escaped.value(text))' (expected one of "
                        + Timeframe.allCases.map(\.rawValue).joined(separator: " ") + ")")
            }
            guard timeframe.isAvailable(on: market) else {
                throw Failure(variable: "TIMEFRAME", reason: "\(timeframe) exists on spot only, not on \(market)")
            }
            guard !timeframes.contains(timeframe) else {
                throw Failure(variable: "TIMEFRAME", reason: "\(timeframe) is listed twice")
            }
            timeframes.append(timeframe)
        }
        let startMs = try integer("START_TS", 0...Bound.maxEpochMs) ?? 0
        let endMs = try integer("END_TS", 0...Bound.maxEpochMs) ?? 0
        if startMs > 0, endMs > 0, startMs >= endMs {
            throw Failure(variable: "START_TS", reason: "\(startMs) is not before END_TS \(endMs)")
        }
        let batchLimit = try integer("BATCH_LIMIT", 1...Int64(market.maxBatchLimit)).map(Int.init)
        let sleepMs = Int(try integer("SLEEP_MS", 0...Int64(maxSleepMs)) ?? 0)
        let landing = try value("LANDING_DIR") ?? defaultLanding
        var ledger = try value("LEDGER_PATH") ?? defaultLedger
        for (name, path) in [("LANDING_DIR", landing), ("LEDGER_PATH", ledger)] where path.contains("\0") {
            throw Failure(variable: name, reason: "is not a usable path")
        }
        // A PostgreSQL ledger (§13), used instead of LEDGER_PATH (which compose always sets); its password may be in
        // it and is never repeated in a message.
        if let url = try value("LEDGER_URL") {
            guard LedgerLocation.isPostgresURL(url), !url.contains("\0") else {
                throw Failure(
                    variable: "LEDGER_URL",
                    reason: "'\(Escaped.value(LedgerLocation.redacted(url)))' is not a postgresql:// URL")
            }
            ledger = url
        }
        /// An `http(s)://host[:port][/path]` URL without a query, or nothing.
        func httpBaseURL(_ name: String) throws(Failure) -> String? {
            guard let text = try value(name) else { return nil }
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
                url.query == nil
            else { throw Failure(variable: name, reason: "'\(Escaped.value(text))' is not an http(s) base URL") }
            return text
        }
        let baseURL = try httpBaseURL("BINANCE_BASE_URL")
        let archive = try value("ARCHIVE").map { (text: String) throws(Failure) -> ArchiveMode in
            guard let mode = ArchiveMode(rawValue: text) else {
                throw Failure(variable: "ARCHIVE", reason: "'\(Escaped.value(text))' is not auto, off or only")
            }
            return mode
        }
        let archiveURL = try httpBaseURL("ARCHIVE_URL")
        func at(_ name: String) -> SourceLocation { SourceLocation(file: name, line: 0, column: 0) }
        var file = PlanFile(
            path: "environment", version: 1, exchange: .binance, market: market, baseURL: baseURL, landing: landing,
            ledger: ledger, columns: .basic,
            defaults: PlanDefaults(
                start: Located(startMs == 0 ? .watermark : .absolute(startMs), at: at("START_TS")),
                end: Located(endMs == 0 ? .now : .absolute(endMs), at: at("END_TS")),
                batchLimit: batchLimit.map { Located($0, at: at("BATCH_LIMIT")) }, sleepMs: sleepMs),
            targets: [
                PlanTarget(
                    location: at("SYMBOLS"), symbols: symbols.map { Located($0, at: at("SYMBOLS")) },
                    timeframes: timeframes.map { Located($0, at: at("TIMEFRAME")) })
            ])
        file.archive = archive
        file.archiveURL = archiveURL
        // The plan's identity for the ledger's `runs`: the knobs as read (never the API key or secret).
        let identity = knobs.map { "\($0)=\(environment[$0] ?? "")" }.joined(separator: "\n")
        return .plan(LoadedPlan(file: file, sha256: SHA256Hex.digest(Array(identity.utf8))))
    }
}

/// Values echoed in messages: control characters escaped, at most 200 characters (§11).
package enum Escaped {
    package static func value(_ text: some StringProtocol) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += scalar == "\n" ? "\\n" : "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            if out.count >= 200 { return String(out.prefix(200)) + "…" }
        }
        return out
    }
}
