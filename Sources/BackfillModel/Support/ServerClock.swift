/// What an exchange clock may say (§11): a server time outside 2017 … local time + 1 day is not believed, so that no
/// arithmetic on it can overflow and no plan is made up to a far future.
package enum ServerClock {
    /// 2017-01-01T00:00Z, before Binance's first candle.
    package static let earliestMs: Int64 = 1_483_228_800_000
    /// 2100-01-01T00:00Z: the bound of `--now-ms`.
    package static let latestFrozenMs: Int64 = 4_102_444_800_000
    /// The range a frozen clock (`--now-ms`) may take.
    package static let plausibleRange: ClosedRange<Int64> = earliestMs...latestFrozenMs

    /// Whether `serverMs` is a believable exchange clock when the local clock says `localMs`.
    package static func isPlausible(_ serverMs: Int64, localMs: Int64) -> Bool {
        serverMs >= earliestMs && serverMs <= localMs &+ 86_400_000
    }
}
