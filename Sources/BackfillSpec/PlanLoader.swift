import BackfillModel
import Foundation
import Yams

/// Reads a plan file into a ``PlanFile``, rejecting anything it does not understand with `file:line:column`.
///
/// The YAML is composed into Yams nodes (which keep their positions) and walked by hand rather than decoded with
/// `Codable`: that is what lets every error name the exact key or value, and lets unknown keys, wrong types and
/// rule violations all be one-line messages. Nothing here touches the network, the ledger or the landing area.
package struct PlanLoader: Sendable {
    /// The variables `${NAME}` may reference.
    package var environment: [String: String]

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads and validates the plan file at `path`.
    /// - Throws: ``PlanFileError``.
    package func load(path: String) throws(PlanFileError) -> PlanFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read plan file" : "no such plan file"
            throw PlanFileError(file: path, reason)
        }
        guard data.count <= 1 << 20 else { throw PlanFileError(file: path, "plan file is larger than 1 MiB") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PlanFileError(file: path, "plan file is not valid UTF-8")
        }
        return try parse(text, path: path)
    }

    /// Parses and validates plan-file text; `path` is used in messages only.
    /// - Throws: ``PlanFileError``.
    package func parse(_ text: String, path: String) throws(PlanFileError) -> PlanFile {
        var walker = Walker(path: path, environment: environment)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PlanFileError(at: SourceLocation(file: path, line: 1, column: 1), "plan file is empty")
            }
            root = node
        } catch let error as PlanFileError {
            throw error
        } catch let error as YamlError {
            throw walker.translate(error)
        } catch {
            throw PlanFileError(file: path, "cannot parse YAML: \(error)")
        }
        return try walker.plan(root)
    }
}

/// The node walker: one method per block of the plan file.
private struct Walker {
    let path: String
    let environment: [String: String]

    init(path: String, environment: [String: String]) {
        self.path = path
        self.environment = environment
    }

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: path, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func fail(_ node: Node, _ reason: String) -> PlanFileError { PlanFileError(at: location(node), reason) }

    func translate(_ error: YamlError) -> PlanFileError {
        func clean(_ problem: String) -> String { problem.replacingOccurrences(of: "\n", with: " ") }
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return PlanFileError(
                at: SourceLocation(file: path, line: mark.line, column: mark.column),
                "invalid YAML: \(clean(problem))")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            return PlanFileError(
                at: SourceLocation(file: path, line: context.mark.line, column: context.mark.column),
                "key '\(key)' is defined more than once")
        case .reader(let problem, _, _, _):
            return PlanFileError(file: path, "invalid YAML: \(clean(problem))")
        default:
            return PlanFileError(file: path, "invalid YAML: \(clean(String(describing: error)))")
        }
    }

    // MARK: Blocks

    mutating func plan(_ root: Node) throws(PlanFileError) -> PlanFile {
        let entries = try mapping(root, context: "plan", allowed: PlanKeys.root, required: PlanKeys.rootRequired)
        var version = 0
        var exchange = ExchangeKind.binance
        var market = MarketKind.spot
        var marketNode: Node?
        var baseURL: (String, Node)?
        var archive: (ArchiveMode, Node)?
        var archiveURL: (String, Node)?
        var landing = PlanKeys.defaultLanding
        var ledger = PlanKeys.defaultLedger
        var columns = ColumnSet.basic
        var defaults = PlanDefaults()
        var targetsNode: Node?
        for (key, value) in entries {
            switch key {
            case "version":
                version = try integer(value, key: key)
                guard version == 1 else {
                    throw fail(value, "unsupported plan version \(version) (this tool reads version 1)")
                }
            case "exchange": exchange = try enumeration(value, key: key)
            case "market":
                market = try enumeration(value, key: key)
                marketNode = value
            case "base_url": baseURL = (try string(value, key: key), value)
            case "archive": archive = (try enumeration(value, key: key), value)
            case "archive_url": archiveURL = (try string(value, key: key), value)
            case "landing": landing = try path(value, key: key)
            case "ledger": ledger = try path(value, key: key)
            case "columns": columns = try enumeration(value, key: key)
            case "defaults": defaults = try self.defaults(value)
            case "targets": targetsNode = value
            default: break
            }
        }
        if let (url, node) = baseURL {
            guard exchange == .binance else { throw fail(node, "base_url has no meaning with exchange: simulated") }
            guard isHTTPURL(url) else {
                throw fail(node, "base_url '\(url)' is not an http:// or https:// URL with a host")
            }
        }
        for (key, node) in [("archive", archive?.1), ("archive_url", archiveURL?.1)] where exchange != .binance {
            if let node { throw fail(node, "\(key) has no meaning with exchange: simulated") }
        }
        if let (url, node) = archiveURL, !isHTTPURL(url) {
            throw fail(node, "archive_url '\(url)' is not an http:// or https:// URL with a host")
        }
        if let limit = defaults.batchLimit { try checkBatchLimit(limit, market: market) }
        guard let targetsNode else { throw fail(root, "missing required key 'targets'") }
        let targets = try self.targets(targetsNode, market: market, marketNode: marketNode, defaults: defaults)
        var file = PlanFile(
            path: path, version: version, exchange: exchange, market: market,
            baseURL: baseURL.map { $0.0.hasSuffix("/") ? String($0.0.dropLast()) : $0.0 },
            landing: landing, ledger: ledger, columns: columns, defaults: defaults, targets: targets)
        file.archive = archive?.0
        file.archiveURL = archiveURL.map { $0.0.hasSuffix("/") ? String($0.0.dropLast()) : $0.0 }
        return file
    }

    func defaults(_ node: Node) throws(PlanFileError) -> PlanDefaults {
        var defaults = PlanDefaults()
        for (key, value) in try mapping(node, context: "defaults", allowed: PlanKeys.defaults, required: []) {
            switch key {
            case "start": defaults.start = try bound(value, key: key)
            case "end": defaults.end = try bound(value, key: key)
            case "batch_limit": defaults.batchLimit = Located(try integer(value, key: key), at: location(value))
            case "sleep_ms":
                let ms = try integer(value, key: key)
                guard (0...PlanKeys.maxSleepMs).contains(ms) else {
                    throw fail(value, "sleep_ms \(ms) is out of range (0...\(PlanKeys.maxSleepMs))")
                }
                defaults.sleepMs = ms
            default: break
            }
        }
        if let start = defaults.start, let end = defaults.end { try checkOrder(start, end) }
        return defaults
    }

    func targets(
        _ node: Node, market: MarketKind, marketNode: Node?, defaults: PlanDefaults
    )
        throws(PlanFileError) -> [PlanTarget]
    {
        guard case .sequence(let sequence) = node else {
            throw fail(node, "'targets' must be a list of targets, found \(describe(node))")
        }
        guard !sequence.isEmpty else { throw fail(node, "'targets' is empty: list at least one target") }
        var targets: [PlanTarget] = []
        // Where each pair was first listed: its symbol's and its timeframe's locations.
        var seen: [Pair: (symbol: SourceLocation, timeframe: SourceLocation)] = [:]
        for item in sequence {
            var target = PlanTarget(location: location(item), symbols: [], timeframes: [])
            for (key, value) in try mapping(
                item, context: "target", allowed: PlanKeys.target, required: PlanKeys.targetRequired)
            {
                switch key {
                case "symbols": target.symbols = try symbols(value, market: market)
                case "timeframes": target.timeframes = try timeframes(value, market: market)
                case "start": target.start = try bound(value, key: key)
                case "end": target.end = try bound(value, key: key)
                case "batch_limit":
                    let limit = Located(try integer(value, key: key), at: location(value))
                    try checkBatchLimit(limit, market: market)
                    target.batchLimit = limit
                default: break
                }
            }
            if let start = target.start ?? defaults.start, let end = target.end ?? defaults.end {
                try checkOrder(start, end)
            }
            for symbol in target.symbols {
                for timeframe in target.timeframes {
                    let pair = Pair(symbol: symbol.value, timeframe: timeframe.value)
                    if let first = seen[pair] {
                        // A repeated timeframe under the same symbol entry is blamed on the timeframe, otherwise
                        // on the repeated symbol.
                        let sameEntry = first.symbol == symbol.location
                        let culprit = sameEntry ? timeframe.location : symbol.location
                        let previous = sameEntry ? first.timeframe : first.symbol
                        throw PlanFileError(
                            at: culprit, "duplicate pair \(pair) (already listed at line \(previous.line))")
                    }
                    seen[pair] = (symbol.location, timeframe.location)
                }
            }
            targets.append(target)
        }
        return targets
    }

    func symbols(_ node: Node, market: MarketKind) throws(PlanFileError) -> [Located<String>] {
        try list(node, key: "symbols").map { (item) throws(PlanFileError) -> Located<String> in
            let symbol = try string(item, key: "symbols")
            guard UnifiedSymbol.isWellFormed(symbol) else {
                throw fail(
                    item,
                    "invalid symbol '\(symbol)' (expected a unified symbol like BTC/USDT, BTC/USDT:USDT or BTC/USD:BTC)"
                )
            }
            let isFutures = symbol.contains(":")
            if market == .spot && isFutures {
                throw fail(item, "symbol '\(symbol)' is a futures symbol but market is spot")
            }
            if market != .spot && !isFutures {
                let example = market == .usdm ? "BTC/USDT:USDT" : "BTC/USD:BTC"
                throw fail(
                    item,
                    "symbol '\(symbol)' needs its settle currency on market \(market.rawValue) (e.g. \(example))")
            }
            return Located(symbol, at: location(item))
        }
    }

    func timeframes(_ node: Node, market: MarketKind) throws(PlanFileError) -> [Located<Timeframe>] {
        try list(node, key: "timeframes").map { (item) throws(PlanFileError) -> Located<Timeframe> in
            let text = try string(item, key: "timeframes")
            guard let timeframe = Timeframe(rawValue: text) else {
                let known = Timeframe.allCases.map(\.rawValue).joined(separator: " ")
                throw fail(item, "unknown timeframe '\(text)' (expected one of \(known))")
            }
            guard timeframe.isAvailable(on: market) else {
                throw fail(item, "timeframe \(text) exists on spot only, not on market \(market.rawValue)")
            }
            return Located(timeframe, at: location(item))
        }
    }

    func bound(_ node: Node, key: String) throws(PlanFileError) -> Located<Bound> {
        let text = try string(node, key: key)
        guard let bound = Bound.parse(text) else {
            throw fail(
                node,
                "invalid \(key) '\(text)' (expected earliest, watermark, now, an ISO-8601 date, epoch milliseconds"
                    + " or a relative offset like -90d)")
        }
        if key == "end", bound == .earliest || bound == .watermark {
            throw fail(node, "end cannot be '\(text)' (use now, a date, epoch milliseconds or a relative offset)")
        }
        if key == "start", bound == .now { throw fail(node, "start cannot be 'now': nothing would be fetched") }
        return Located(bound, at: location(node))
    }

    // MARK: Rules

    func checkBatchLimit(_ limit: Located<Int>, market: MarketKind) throws(PlanFileError) {
        guard (1...market.maxBatchLimit).contains(limit.value) else {
            throw PlanFileError(
                at: limit.location,
                "batch_limit \(limit.value) is out of range for market \(market.rawValue) (1...\(market.maxBatchLimit))"
            )
        }
    }

    /// Rejects `start ≥ end` when both can be compared without knowing "now" or the listing.
    func checkOrder(_ start: Located<Bound>, _ end: Located<Bound>) throws(PlanFileError) {
        let ordered: Bool
        switch (start.value, end.value) {
        case (.absolute(let s), .absolute(let e)): ordered = s < e
        case (.relative(let s), .relative(let e)): ordered = s < e
        case (.relative, .now): ordered = true
        default: return
        }
        guard ordered else {
            throw PlanFileError(at: start.location, "start \(start.value) is not before end \(end.value)")
        }
    }

    func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty,
            url.query == nil, url.fragment == nil
        else { return false }
        return !text.contains(" ")
    }

    // MARK: Typed scalars

    func mapping(
        _ node: Node, context: String, allowed: [String], required: [String]
    )
        throws(PlanFileError) -> [(String, Node)]
    {
        guard case .mapping(let mapping) = node else {
            throw fail(node, "\(context) must be a mapping, found \(describe(node))")
        }
        var entries: [(String, Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else { throw fail(keyNode, "keys in \(context) must be strings") }
            let key = scalar.string
            guard allowed.contains(key) else {
                let suggestion = EditDistance.nearest(to: key, in: allowed, limit: 1, maxDistance: 3).first
                let hint =
                    suggestion.map { "; did you mean '\($0)'?" }
                    ?? " (expected one of: \(allowed.joined(separator: ", ")))"
                throw fail(keyNode, "unknown key '\(key)' in \(context)\(hint)")
            }
            entries.append((key, value))
        }
        for key in required where !entries.contains(where: { $0.0 == key }) {
            throw fail(node, "missing required key '\(key)' in \(context)")
        }
        return entries
    }

    func list(_ node: Node, key: String) throws(PlanFileError) -> [Node] {
        guard case .sequence(let sequence) = node else {
            throw fail(node, "'\(key)' must be a list, found \(describe(node))")
        }
        guard !sequence.isEmpty else { throw fail(node, "'\(key)' is empty") }
        return Array(sequence)
    }

    func string(_ node: Node, key: String) throws(PlanFileError) -> String {
        guard case .scalar(let scalar) = node else {
            throw fail(node, "'\(key)' must be a string, found \(describe(node))")
        }
        if scalar.style == .plain && (scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null") {
            throw fail(node, "'\(key)' must not be empty")
        }
        do {
            return try EnvironmentSubstitution.expand(scalar.string, environment: environment)
        } catch {
            switch error {
            case .unset(let name):
                throw fail(node, "environment variable '\(name)' is not set (used by '\(key)')")
            case .malformed(let reason):
                throw fail(node, "'\(key)': \(reason)")
            }
        }
    }

    func path(_ node: Node, key: String) throws(PlanFileError) -> String {
        let text = try string(node, key: key)
        guard !text.isEmpty, !text.contains("\0") else { throw fail(node, "'\(key)' is not a usable path") }
        return text
    }

    func integer(_ node: Node, key: String) throws(PlanFileError) -> Int {
        let text = try string(node, key: key)
        guard text.count <= 12, let value = Int(text) else {
            throw fail(node, "'\(key)' must be an integer, found '\(text)'")
        }
        return value
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ node: Node, key: String) throws(PlanFileError) -> E
    where E.RawValue == String {
        let text = try string(node, key: key)
        guard let value = E(rawValue: text) else {
            let known = E.allCases.map(\.rawValue)
            let list = known.dropLast().joined(separator: ", ") + " or " + (known.last ?? "")
            throw fail(node, "unknown \(key) '\(text)' (expected \(list))")
        }
        return value
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// A loaded plan file with the hash of its bytes and the command line's overrides applied.
package struct LoadedPlan: Sendable, Equatable {
    package var file: PlanFile
    package var sha256: String

    /// Loads `path`, hashes it, and applies `--ledger` / `--landing`.
    /// - Throws: ``PlanFileError``.
    package static func load(
        path: String, environment: [String: String], ledger: String? = nil,
        landing: String? = nil
    ) throws(PlanFileError) -> LoadedPlan {
        var file = try PlanLoader(environment: environment).load(path: path)
        if let ledger { file.ledger = ledger }
        if let landing { file.landing = landing }
        let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        return LoadedPlan(file: file, sha256: SHA256Hex.digest(data))
    }
}
