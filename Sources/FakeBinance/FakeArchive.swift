import BackfillModel
import BackfillSpec
import Foundation
import Synchronization
import ZIPFoundation

/// Binance's bulk archive (data.binance.vision, `../shared/binance-api.md` §5) as the fake serves it under `/data/…` on
/// its own port, at no weight: monthly and daily zips of the same candles and decimal strings as its REST klines,
/// each with a `.CHECKSUM` (SHA-256, two spaces, file name).
///
/// * Layout `/data/{spot|futures/um|futures/cm}/{monthly|daily}/klines/SYM/TF/SYM-TF-{YYYY-MM|YYYY-MM-DD}.zip`; the
///   month interval is spelled `1mo`; daily files only for `1s…1d`.
/// * One CSV per zip, named like it, the 12 REST columns without quotes; spot rows from 2025-01-01 in microseconds;
///   futures files of periods from `futures_header_from_ms` (default 2022-01-01) start with a header row.
/// * 404 for what does not exist (a symbol, a period without candles, an interval without daily files) or is not
///   published yet: a daily file `daily_delay_hours` (default 6) after its day ends, a monthly one that long after
///   the first Monday of the next month (Binance: "the next day", "the first monday of the month").
/// * Quirks per file name (`quirks`): `missing`, `truncated` (the second half of the rows dropped, checksum of what
///   is served), `bad_checksum`, `bad_zip` (bytes that do not unzip, their checksum correct), `reupload` (one
///   candle changed, checksum of the new file), `no_checksum`.
package final class FakeArchive: Sendable {
    let exchange: SimulatedExchange
    let state: FakeBinanceState
    let config: FakeBinanceConfig.Archive
    /// Zips once made, by path (a month of 1m takes a while to render and deflate).
    private let cache = Mutex<[String: [UInt8]]>([:])

    init(exchange: SimulatedExchange, state: FakeBinanceState) {
        self.exchange = exchange
        self.state = state
        config = state.config.archive
    }

    /// One archive file, parsed from its path.
    struct File: Equatable {
        var market: MarketKind
        var monthly: Bool
        var symbolId: String
        var timeframe: Timeframe
        var period: TimeRange
        var name: String
    }

    /// The interval as archive paths spell it.
    static func interval(_ timeframe: Timeframe) -> String { timeframe == .mo1 ? "1mo" : timeframe.rawValue }

    /// Daily files exist for these intervals only.
    static func hasDaily(_ timeframe: Timeframe) -> Bool {
        timeframe.fixedDurationMs.map { $0 <= Timeframe.dayMs } ?? false
    }

    static func parse(_ path: String) -> (file: File, checksum: Bool)? {
        var rest = Substring(path)
        guard rest.hasPrefix("/data/") else { return nil }
        rest = rest.dropFirst("/data/".count)
        let market: MarketKind
        if rest.hasPrefix("spot/") {
            market = .spot
            rest = rest.dropFirst("spot/".count)
        } else if rest.hasPrefix("futures/um/") {
            market = .usdm
            rest = rest.dropFirst("futures/um/".count)
        } else if rest.hasPrefix("futures/cm/") {
            market = .coinm
            rest = rest.dropFirst("futures/cm/".count)
        } else {
            return nil
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "monthly" || parts[0] == "daily", parts[1] == "klines" else { return nil }
        let monthly = parts[0] == "monthly"
        let symbolId = String(parts[2])
        let intervalName = String(parts[3])
        guard let timeframe = intervalName == "1mo" ? .mo1 : Timeframe(rawValue: intervalName), intervalName != "1M"
        else { return nil }
        var name = String(parts[4])
        let checksum = name.hasSuffix(".zip.CHECKSUM")
        if checksum { name.removeLast(".CHECKSUM".count) }
        let prefix = "\(symbolId)-\(intervalName)-"
        guard name.hasPrefix(prefix), name.hasSuffix(".zip") else { return nil }
        let date = name.dropFirst(prefix.count).dropLast(".zip".count).split(separator: "-")
        guard date.count == (monthly ? 2 : 3), date[0].count == 4, date[1].count == 2, let year = Int64(date[0]),
            let month = Int64(date[1]), (2017...2100).contains(year), (1...12).contains(month)
        else { return nil }
        let period: TimeRange?
        if monthly {
            let start = CivilDate(year: year, month: month, day: 1).epochMs
            let next =
                month == 12
                ? CivilDate(year: year + 1, month: 1, day: 1) : CivilDate(year: year, month: month + 1, day: 1)
            period = TimeRange(start, next.epochMs)
        } else {
            guard date[2].count == 2, let day = Int64(date[2]), day >= 1 else { return nil }
            let start = CivilDate(year: year, month: month, day: day).epochMs
            // 2024-02-30 is not a day: it would come back as March.
            guard CivilDate(epochMs: start).month == month else { return nil }
            period = TimeRange(start, start + Timeframe.dayMs)
        }
        guard let period, monthly || hasDaily(timeframe) else { return nil }
        return (
            File(
                market: market, monthly: monthly, symbolId: symbolId, timeframe: timeframe, period: period, name: name),
            checksum
        )
    }

    /// When a file becomes available (server time, ms).
    func publishedAt(_ file: File) -> Int64 {
        let delay = Int64(config.dailyDelayHours) * 3_600_000
        guard file.monthly else { return file.period.upperBound + delay }
        // The first Monday on or after the first day of the next month (1970-01-05 was a Monday).
        let day = file.period.upperBound / Timeframe.dayMs
        let monday = day + (7 - ((day - 4) % 7 + 7) % 7) % 7
        return monday * Timeframe.dayMs + delay
    }

    /// Answers a `/data/…` request.
    func respond(path: String) -> FakeResponse {
        let notFound = FakeResponse(
            status: 404, headers: [("Content-Type", "application/xml")],
            body: Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code></Error>".utf8))
        guard let (file, checksum) = Self.parse(path),
            let instrument = exchange.instrument(file.market, symbolId: file.symbolId),
            state.serverTime() >= publishedAt(file)
        else { return notFound }
        let quirk = config.quirks[file.name]
        if quirk == .missing || (checksum && quirk == .noChecksum) { return notFound }
        guard let zip = zip(file, instrument: instrument, quirk: quirk) else { return notFound }
        if checksum {
            var digest = SHA256Hex.digest(zip)
            if quirk == .badChecksum { digest = String(digest.reversed()) }
            return FakeResponse(
                status: 200, headers: [("Content-Type", "text/plain")], body: Array("\(digest)  \(file.name)\n".utf8))
        }
        return FakeResponse(status: 200, headers: [("Content-Type", "application/zip")], body: zip)
    }

    /// The zip of `file` (`nil` when its period has no candles: Binance publishes no file then).
    func zip(
        _ file: File, instrument: SimulatedExchange.Instrument, quirk: FakeBinanceConfig.Archive.Quirk?
    ) -> [UInt8]? {
        let key = "\(file.market.rawValue)/\(file.monthly)/\(file.name)/\(quirk?.rawValue ?? "")"
        if let made = cache.withLock({ $0[key] }) { return made }
        var rows = exchange.klines(
            instrument, file.timeframe, startTime: file.period.lowerBound, endTime: file.period.upperBound - 1,
            limit: Int.max, serverTime: state.serverTime())
        rows.removeAll { $0.closeTime >= state.serverTime() }
        guard !rows.isEmpty else { return nil }
        if quirk == .truncated { rows.removeLast(rows.count / 2) }
        if quirk == .reupload, var first = rows.first {
            first.close = first.close == first.open ? first.high : first.open
            rows[0] = first
        }
        let csv = Self.csv(
            rows, file: file, header: file.market != .spot && file.period.lowerBound >= config.futuresHeaderFromMs)
        var bytes: [UInt8]
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            let data = Data(csv)
            try archive.addEntry(
                with: String(file.name.dropLast(".zip".count)) + ".csv", type: .file,
                uncompressedSize: Int64(data.count),
                modificationDate: Date(timeIntervalSince1970: 1_700_000_000), compressionMethod: .deflate
            ) { position, size in data.subdata(in: Int(position)..<Int(position) + size) }
            bytes = Array(archive.data ?? Data())
        } catch {
            return nil
        }
        if quirk == .badZip { bytes = Array(bytes.prefix(bytes.count / 3)) + Array(repeating: 0x5A, count: 64) }
        let made = bytes
        cache.withLock { $0[key] = made }
        return made
    }

    /// The archive's CSV: the 12 REST columns, unquoted; spot open and close times in µs from 2025-01-01.
    static func csv(_ rows: [Kline], file: File, header: Bool) -> [UInt8] {
        var out = ""
        out.reserveCapacity(rows.count * 130 + 150)
        if header {
            out +=
                "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
                + "taker_buy_quote_volume,ignore\n"
        }
        let micros = file.market == .spot && file.period.lowerBound >= microsecondsFromMs
        for row in rows {
            let open = micros ? String(row.openTime * 1000) : String(row.openTime)
            let close = micros ? String(row.closeTime * 1000 + 999) : String(row.closeTime)
            out += "\(open),\(row.open),\(row.high),\(row.low),\(row.close),\(row.volume),\(close),"
            out += "\(row.quoteVolume),\(row.trades),\(row.takerBuyBaseVolume),\(row.takerBuyQuoteVolume),0\n"
        }
        return Array(out.utf8)
    }

    /// Spot archives are in microseconds from 2025-01-01 00:00 UTC.
    static let microsecondsFromMs: Int64 = 1_735_689_600_000
}
