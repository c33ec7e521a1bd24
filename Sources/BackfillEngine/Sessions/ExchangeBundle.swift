import BackfillArchive
import BackfillExchange
import BackfillModel
import Logging

/// One exchange, as every command needs it: the market metadata source (clock, markets, listings), the candle
/// source, the weight limit, and what was counted. Built in one place, ``make(exchange:market:baseURL:frozenNowMs:apiKey:connections:logger:)``:
/// adding a candle source (the archive) or another exchange is a change there and nowhere else.
package struct ExchangeBundle: Sendable {
    /// Clock, markets and listings (planning's only questions).
    package let markets: any MarketSource
    /// Where `apply` and `audit --verify-remote` get candles; `serverNowMs` is the exchange's clock of the plan.
    package let candles: @Sendable (_ serverNowMs: Int64) -> any CandleSource
    /// Asks what the exchange allows before fetching (Binance: exchangeInfo's weight limit, which planning may have
    /// taken from the ledger's cache); nothing for the simulated exchange.
    package let prepare: @Sendable () async throws -> Void
    /// The weight limit per minute as last read (0: none).
    package let weightLimit: @Sendable () async -> Int
    /// What the HTTP client counted (`nil` when nothing goes over a network).
    package let counters: RequestCounters?
    /// The archive's files (`nil` when the archive is off).
    package var archive: ArchiveStore? = nil
    /// What the archive path counted (`nil` when the archive is off).
    package var archiveCounters: ArchiveCounters? { archive?.counters }
    /// Closes what the archive path opened.
    var closeArchive: @Sendable () async -> Void = {}

    /// The exchange a plan names.
    /// - Parameters:
    ///   - frozenNowMs: `--now-ms`: the exchange clock is not asked.
    ///   - apiKey: `API_KEY`, sent as a header and never printed.
    ///   - connections: the HTTP pool's connections per host.
    ///   - archive: the archive's mode and base URL (§12); `nil` or `.off`: REST only.
    package static func make(
        exchange: ExchangeKind, market: MarketKind, baseURL: String?, frozenNowMs: Int64?, apiKey: String?,
        connections: Int = 2, archive: (mode: ArchiveMode, url: String)? = nil, logger: Logger = .silent
    ) -> ExchangeBundle {
        switch exchange {
        case .simulated:
            return ExchangeBundle(
                markets: SimulatedMarketSource(market: market, frozenNowMs: frozenNowMs),
                candles: { now in SimulatedCandleSource(nowMs: now) }, prepare: {}, weightLimit: { 0 },
                counters: nil)
        case .binance:
            let binance = BinanceMarketSource(
                market: market, baseURL: baseURL, frozenNowMs: frozenNowMs, apiKey: apiKey, connections: connections,
                logger: logger)
            let client = binance.client
            let rest = BinanceCandleSource(client: client)
            var source: any CandleSource = rest
            var store: ArchiveStore?
            var transport: AsyncHTTPClientTransport?
            if let archive, archive.mode != .off {
                // The archive has no weight: its own connection pool, bodies up to 128 MB (a day of 1s is ~3 MB).
                let pool = AsyncHTTPClientTransport(connections: connections, maxBodyBytes: 128 << 20)
                let files = ArchiveStore(
                    layout: ArchiveLayout(baseURL: archive.url), transport: pool, capacity: 1, logger: logger)
                source = ArchiveCandleSource(rest: rest, store: files, mode: archive.mode)
                (store, transport) = (files, pool)
            }
            let candles = source
            var bundle = ExchangeBundle(
                markets: binance, candles: { _ in candles },
                prepare: { _ = try await client.exchangeInfo() }, weightLimit: { await client.governor.limit },
                counters: client.counters)
            bundle.archive = store
            if let transport { bundle.closeArchive = { await transport.shutdown() } }
            return bundle
        }
    }

    /// Releases connections; once, when the command is done.
    package func close() async {
        await markets.close()
        await closeArchive()
    }
}
