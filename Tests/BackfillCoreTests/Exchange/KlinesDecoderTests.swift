import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

struct KlinesDecoderTests {
    static func randomDecimal(_ rng: inout SplitMix) -> String {
        let whole = String(UInt64.random(in: 0...999_999_999, using: &rng))
        switch UInt8.random(in: 0...2, using: &rng) {
        case 0: return whole
        case 1: return whole + "." + String(UInt64.random(in: 0...99_999_999, using: &rng))
        default: return "0.000" + String(UInt64.random(in: 1...999, using: &rng))
        }
    }

    static func randomPage(_ rng: inout SplitMix) -> [Kline] {
        var open = Int64.random(in: 1_500_000_000_000...1_700_000_000_000, using: &rng)
        return (0..<Int.random(in: 0...60, using: &rng)).map { _ in
            open += Int64.random(in: 1...3_600_000, using: &rng)
            return Kline(
                openTime: open, open: randomDecimal(&rng), high: randomDecimal(&rng), low: randomDecimal(&rng),
                close: randomDecimal(&rng), volume: randomDecimal(&rng), closeTime: open + 59_999,
                quoteVolume: randomDecimal(&rng), trades: Int64.random(in: 0...9_999_999, using: &rng),
                takerBuyBaseVolume: randomDecimal(&rng), takerBuyQuoteVolume: randomDecimal(&rng))
        }
    }

    /// The hand-written parser and the generic one agree on random pages, decimals byte-exact.
    @Test(arguments: 0..<300)
    func agreesWithTheGenericDecoder(seed: Int) throws {
        var rng = SplitMix(state: UInt64(seed) &* 31 &+ 7)
        let page = Self.randomPage(&rng)
        var text = FakeBinanceRouter.encode(page)
        if seed % 3 == 0 { text = text.replacingOccurrences(of: ",", with: " ,\n\t") }
        if seed % 5 == 0 { text = " \r\n" + text + "\n" }
        let bytes = Array(text.utf8)
        let fast = try KlinesDecoder.decode(bytes)
        let generic = try JSONKlinesDecoder.decode(bytes)
        #expect(fast == page)
        #expect(generic == page)
    }

    @Test func keepsDecimalStringsVerbatim() throws {
        let body =
            #"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","17928899.62484339"]]"#
        let rows = try KlinesDecoder.decode(Array(body.utf8))
        #expect(rows.count == 1)
        #expect(rows[0].open == "0.01634790")
        #expect(rows[0].volume == "148976.11427815")
        #expect(rows[0].closeTime == 1_499_644_799_999)
        #expect(rows[0].trades == 308)
    }

    static let malformed: [String] = [
        "", "[", "{}", "null", "[[]]", "[1]", "[[1,2]]",
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1"]]"#,  // 11 fields
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1","0","x"]]"#,  // 13 fields
        #"[["1499040000000","1","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,  // time as string
        #"[[1499040000000,1.5,"1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,  // price as number
        #"[[1499040000000,"1.2.3","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000,"1e5","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000,"-1","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000,"NaN","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000,"","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000,"1.","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[-1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000.5,"1","1","1","1","1",1499644799999,"1",308,"1","1","0"]]"#,
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",30.8,"1","1","0"]]"#,
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1",0]]"#,
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1","0"]] trailing"#,
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1","0"],]"#,
        #"[[1499040000000,"1","1","1","1","1",1499644799999,"1",308,"1","1","0"]"#,  // truncated
        #"{"code":-1121,"msg":"Invalid symbol."}"#,
        #"<html><body>502 Bad Gateway</body></html>"#,
    ]

    @Test(arguments: malformed)
    func rejectsWhatBinanceDoesNotSend(body: String) {
        #expect(throws: KlinesDecodingError.self) { try KlinesDecoder.decode(Array(body.utf8)) }
        // Foundation's parser on Linux tolerates a trailing comma; the dedicated parser does not.
        if !body.hasSuffix(",]") {
            #expect(throws: (any Error).self) { try JSONKlinesDecoder.decode(Array(body.utf8)) }
        }
    }

    @Test func truncatedPagesNeverDecodeAsShorterData() throws {
        var rng = SplitMix(state: 99)
        var page = Self.randomPage(&rng)
        while page.count < 5 { page = Self.randomPage(&rng) }
        let bytes = Array(FakeBinanceRouter.encode(page).utf8)
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            #expect(throws: KlinesDecodingError.self) { try KlinesDecoder.decode(Array(bytes.prefix(cut))) }
        }
    }

    @Test func validatorChecksOrderWindowLimitAndCloseTimes() throws {
        let exchange = SimulatedExchange()
        let btc = try #require(exchange.instrument(.spot, symbolId: "BTCUSDT"))
        let rows = exchange.klines(
            btc, .h1, startTime: utc(2024, 1, 1), endTime: nil, limit: 5, serverTime: utc(2025, 1, 1))
        try KlinesValidator.validate(
            rows, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: utc(2024, 1, 1), endTime: nil, limit: 5)
        #expect(throws: ExchangeError.self) {
            try KlinesValidator.validate(
                rows, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: utc(2024, 1, 1), endTime: nil, limit: 4)
        }
        #expect(throws: ExchangeError.self) {
            try KlinesValidator.validate(
                rows.reversed(), grid: Timeframe.h1.grid(listedAtMs: nil), startTime: utc(2024, 1, 1), endTime: nil,
                limit: 5)
        }
        #expect(throws: ExchangeError.self) {
            try KlinesValidator.validate(
                rows, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: utc(2024, 1, 1, 2), endTime: nil, limit: 5)
        }
        var late = rows
        late[1].closeTime += Timeframe.hourMs
        #expect(throws: ExchangeError.self) {
            try KlinesValidator.validate(
                late, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: utc(2024, 1, 1), endTime: nil, limit: 5)
        }
        // A truncated close (Binance 2017–2018) is consistent; so is an off-grid open.
        var truncated = rows
        truncated[2].closeTime = truncated[2].openTime + 14_838
        truncated[3].openTime += 28 * Timeframe.minuteMs
        truncated[3].closeTime = truncated[3].openTime + 1000
        try KlinesValidator.validate(
            truncated, grid: Timeframe.h1.grid(listedAtMs: nil), startTime: utc(2024, 1, 1), endTime: nil, limit: 5)
    }
}
