import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Keeps `schema/plan.schema.json` (for editors) and the loader (the real judge) in agreement.
struct PlanSchemaTests {
    let schema: [String: Any]

    init() throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("schema/plan.schema.json"))
        schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func object(_ path: String...) -> [String: Any] {
        var node: Any = schema
        for key in path { node = (node as? [String: Any])?[key] as Any }
        return node as? [String: Any] ?? [:]
    }

    func keys(_ node: [String: Any]) -> Set<String> { Set((node["properties"] as? [String: Any] ?? [:]).keys) }

    func strings(_ value: Any?) -> [String] { value as? [String] ?? [] }

    @Test func draft202012WithClosedObjects() {
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["additionalProperties"] as? Bool == false)
        #expect(object("$defs", "defaults")["additionalProperties"] as? Bool == false)
        #expect(object("$defs", "target")["additionalProperties"] as? Bool == false)
    }

    @Test func sameKeysAndRequiredKeys() {
        #expect(keys(schema) == Set(PlanKeys.root))
        #expect(Set(strings(schema["required"])) == Set(PlanKeys.rootRequired))
        #expect(keys(object("$defs", "defaults")) == Set(PlanKeys.defaults))
        #expect(keys(object("$defs", "target")) == Set(PlanKeys.target))
        #expect(Set(strings(object("$defs", "target")["required"])) == Set(PlanKeys.targetRequired))
    }

    @Test func sameEnumerations() {
        #expect(strings(object("properties", "exchange")["enum"]) == ExchangeKind.allCases.map(\.rawValue))
        #expect(strings(object("properties", "market")["enum"]) == MarketKind.allCases.map(\.rawValue))
        #expect(strings(object("properties", "columns")["enum"]) == ColumnSet.allCases.map(\.rawValue))
        #expect(
            strings(object("$defs", "target", "properties", "timeframes", "items")["enum"])
                == Timeframe.allCases.map(\.rawValue))
        #expect(object("properties", "version")["const"] as? Int == 1)
    }

    @Test func sameLimits() {
        let batch = (object("$defs", "batchLimit")["anyOf"] as? [[String: Any]])?.first ?? [:]
        #expect(batch["minimum"] as? Int == 1)
        #expect(batch["maximum"] as? Int == MarketKind.allCases.map(\.maxBatchLimit).max())
        let sleep = (object("$defs", "defaults", "properties", "sleep_ms")["anyOf"] as? [[String: Any]])?.first ?? [:]
        #expect(sleep["maximum"] as? Int == PlanKeys.maxSleepMs)
        let bound = (object("$defs", "bound")["anyOf"] as? [[String: Any]])?.first ?? [:]
        #expect((bound["maximum"] as? NSNumber)?.int64Value == Bound.maxEpochMs)
    }

    func matches(_ pattern: String, _ text: String) throws -> Bool {
        let regex = try NSRegularExpression(pattern: pattern)
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    @Test func boundPatternAcceptsWhatTheLoaderAccepts() throws {
        let anyOf = try #require(object("$defs", "bound")["anyOf"] as? [[String: Any]])
        let pattern = try #require(anyOf.last?["pattern"] as? String)
        let valid = [
            "earliest", "watermark", "now", "1502942400000", "-90d", "-12h", "-30m", "-2w", "-45s", "2017-08-17",
            "2017-08-17T04:00Z", "2017-08-17T04:00:00Z", "2017-08-17 04:00", "2017-08-17T04:00:00.250+02:00",
            "2017-08-17T04:00+0200",
        ]
        for text in valid {
            #expect(Bound.parse(text) != nil, "\(text)")
            #expect(try matches(pattern, text), "schema rejects \(text)")
        }
        for text in ["yesterday", "-5y", "+5d", "1e12", "2017/08/17", "2017-8-17", "now-1d", "early"] {
            #expect(Bound.parse(text) == nil, "\(text)")
            #expect(try !matches(pattern, text), "schema accepts \(text)")
        }
        #expect(try matches(pattern, "${START_TS}"), "environment references are left to the loader")
    }

    @Test func symbolPatternAcceptsWhatTheLoaderAccepts() throws {
        let items = object("$defs", "target", "properties", "symbols", "items")
        let pattern = try #require(items["pattern"] as? String)
        for text in ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC", "BTC/USD:BTC-240628", "1INCH/USDT"] {
            #expect(UnifiedSymbol.isWellFormed(text), "\(text)")
            #expect(try matches(pattern, text), "\(text)")
        }
        for text in ["btc/usdt", "BTCUSDT", "../../ETC/USDT", "BTC/USDT/X", "BTC/", "/USDT", "BTC/USDT:", "BTC USDT"] {
            #expect(!UnifiedSymbol.isWellFormed(text), "\(text)")
            #expect(try !matches(pattern, text), "\(text)")
        }
    }
}
