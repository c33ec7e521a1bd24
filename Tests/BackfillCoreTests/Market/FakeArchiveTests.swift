import FakeBinance
import Foundation
import Testing
import ZIPFoundation

@testable import BackfillModel
@testable import BackfillSpec

/// Issue 14 point 1: the fake serves Binance's bulk archive (binance-api.md §5) — layout, `.CHECKSUM`, the same
/// candles and decimal strings as its REST klines, µs spot rows from 2025, futures header rows, 404s for what does
/// not exist or is not published yet, and the quirks a config switches on per file.
struct FakeArchiveTests {
    /// 2024-03-01 05:00 UTC, a Friday: yesterday's daily files come out at 06:00.
    static let now = utc(2024, 3, 1, 5, 0)

    func router(now: Int64 = now, quirks: [String: FakeBinanceConfig.Archive.Quirk] = [:]) -> FakeBinanceRouter {
        var config = FakeBinanceConfig(clock: .init(frozenMs: now), weight: .init(limit: 0))
        config.archive.quirks = quirks
        return FakeBinanceRouter(state: FakeBinanceState(config: config))
    }

    /// The one CSV inside a zip: its name and lines.
    func unzip(_ bytes: [UInt8]) throws -> (name: String, lines: [String]) {
        let archive = try Archive(data: Data(bytes), accessMode: .read)
        let entries = Array(archive)
        #expect(entries.count == 1)
        let entry = try #require(entries.first)
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return (entry.path, String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    static func rest(_ kline: Kline) -> String {
        [
            String(kline.openTime), kline.open, kline.high, kline.low, kline.close, kline.volume,
            String(kline.closeTime),
            kline.quoteVolume, String(kline.trades), kline.takerBuyBaseVolume, kline.takerBuyQuoteVolume, "0",
        ].joined(separator: ",")
    }

    @Test func aMonthlyZipHoldsTheRESTCandlesAndItsChecksumMatches() throws {
        let r = router()
        let path = "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip"
        let zip = r.respond(path: path, query: "")
        #expect(zip.status == 200)
        let checksum = r.respond(path: path + ".CHECKSUM", query: "")
        #expect(checksum.status == 200)
        #expect(
            String(decoding: checksum.body, as: UTF8.self) == "\(SHA256Hex.digest(zip.body))  BTCUSDT-1h-2024-01.zip\n")
        let (name, lines) = try unzip(zip.body)
        #expect(name == "BTCUSDT-1h-2024-01.csv")
        let market = try #require(r.exchange.instrument(.spot, symbolId: "BTCUSDT"))
        let rest = r.exchange.klines(
            market, .h1, startTime: utc(2024, 1, 1), endTime: utc(2024, 2, 1) - 1, limit: 10_000, serverTime: Self.now)
        #expect(rest.count == 744)
        #expect(lines == rest.map(Self.rest))
        // No weight: the archive is not the REST API.
        #expect(r.state.stats.weightUsed == 0)
    }

    @Test func spotRowsAreInMicrosecondsFrom2025AndFuturesFilesGetAHeaderFrom2022() throws {
        let r = router(now: utc(2025, 3, 1))
        let december = try unzip(
            r.respond(path: "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-12-31.zip", query: "").body)
        #expect(december.lines.first?.hasPrefix("\(utc(2024, 12, 31)),") == true)
        let january = try unzip(
            r.respond(path: "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01-01.zip", query: "").body)
        #expect(january.lines.count == 1440)
        let first = january.lines[0].split(separator: ",")
        #expect(first[0] == "\(utc(2025, 1, 1) * 1000)" && first[6] == "\((utc(2025, 1, 1) + 59_999) * 1000 + 999)")
        let header =
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
        let newer = try unzip(
            r.respond(path: "/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2023-06.zip", query: "").body)
        #expect(newer.lines.first == header && newer.lines.count == 721)
        let older = try unzip(
            r.respond(path: "/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2021-06.zip", query: "").body)
        #expect(older.lines.first?.first?.isNumber == true && older.lines.count == 720)
        let coinm = try unzip(
            r.respond(path: "/data/futures/cm/monthly/klines/BTCUSD_PERP/1mo/BTCUSD_PERP-1mo-2023-06.zip", query: "")
                .body)
        #expect(coinm.lines.first == header && coinm.lines.count == 2)
        let spot2023 = try unzip(
            r.respond(path: "/data/spot/monthly/klines/BTCUSDT/1d/BTCUSDT-1d-2023-06.zip", query: "").body)
        #expect(spot2023.lines.first?.first?.isNumber == true && spot2023.lines.count == 30)
    }

    @Test(arguments: [
        ("/data/spot/daily/klines/BTCUSDT/1w/BTCUSDT-1w-2024-01-01.zip", "no daily files for 1w"),
        ("/data/spot/daily/klines/BTCUSDT/3d/BTCUSDT-3d-2024-01-01.zip", "no daily files for 3d"),
        ("/data/spot/monthly/klines/BTCUSDT/1M/BTCUSDT-1M-2024-01.zip", "the month is spelled 1mo"),
        ("/data/spot/monthly/klines/NOSUCH/1h/NOSUCH-1h-2024-01.zip", "an unknown symbol"),
        ("/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2017-01.zip", "before the listing"),
        (
            "/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02-29.zip",
            "the day before now: published 6 h after it ends"
        ),
        ("/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip", "last month: published after the first Monday"),
        ("/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02-30.zip", "no such day"),
        ("/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-03-01.zip", "today"),
        ("/data/options/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip", "no such market"),
        ("/data/spot/monthly/klines/BTCUSDT/1h/ETHUSDT-1h-2024-01.zip", "a name of another symbol"),
    ])
    func whatDoesNotExistOrIsNotPublishedIs404(path: String, why: String) {
        let r = router()
        #expect(r.respond(path: path, query: "").status == 404, "\(why)")
        #expect(r.respond(path: path + ".CHECKSUM", query: "").status == 404, "\(why)")
    }

    @Test func publishedFilesAreServed() {
        let r = router()
        // The day before yesterday's daily file, January's monthly file (published Monday 2024-02-05 06:00).
        #expect(
            r.respond(path: "/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02-28.zip", query: "").status == 200)
        #expect(r.respond(path: "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-01.zip", query: "").status == 200)
        let march = router(now: utc(2024, 3, 4, 6, 0))
        #expect(
            march.respond(path: "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip", query: "").status == 200)
        #expect(
            router(now: utc(2024, 3, 4, 5, 59)).respond(
                path: "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2024-02.zip", query: ""
            ).status == 404)
    }

    @Test func quirksPerFile() throws {
        let name = "BTCUSDT-1h-2024-01.zip"
        let path = "/data/spot/monthly/klines/BTCUSDT/1h/" + name
        func get(_ quirk: FakeBinanceConfig.Archive.Quirk?) -> (zip: FakeResponse, checksum: FakeResponse) {
            let r = router(quirks: quirk.map { [name: $0] } ?? [:])
            return (r.respond(path: path, query: ""), r.respond(path: path + ".CHECKSUM", query: ""))
        }
        func digest(_ response: FakeResponse) -> String {
            String(String(decoding: response.body, as: UTF8.self).prefix(64))
        }
        let normal = get(nil)
        let lines = try unzip(normal.zip.body).lines
        let missing = get(.missing)
        #expect(missing.zip.status == 404 && missing.checksum.status == 404)
        let noChecksum = get(.noChecksum)
        #expect(noChecksum.zip.status == 200 && noChecksum.checksum.status == 404)
        let badChecksum = get(.badChecksum)
        #expect(
            badChecksum.zip.body == normal.zip.body
                && digest(badChecksum.checksum) != SHA256Hex.digest(badChecksum.zip.body))
        let badZip = get(.badZip)
        #expect(digest(badZip.checksum) == SHA256Hex.digest(badZip.zip.body))
        #expect((try? unzip(badZip.zip.body)) == nil, "does not unzip")
        let truncated = get(.truncated)
        #expect(digest(truncated.checksum) == SHA256Hex.digest(truncated.zip.body))
        #expect(try unzip(truncated.zip.body).lines == Array(lines.prefix(lines.count - lines.count / 2)))
        let reupload = get(.reupload)
        #expect(digest(reupload.checksum) == SHA256Hex.digest(reupload.zip.body))
        #expect(digest(reupload.checksum) != digest(normal.checksum))
        let changed = try unzip(reupload.zip.body).lines
        #expect(
            changed.count == lines.count && changed[0] != lines[0]
                && Array(changed.dropFirst()) == Array(lines.dropFirst()))
    }
}
