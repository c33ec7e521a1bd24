import BackfillModel
import Foundation

/// What can go wrong talking to the exchange, sorted by what the caller should do about it.
package enum ExchangeError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// 418: the IP is banned until this instant (epoch ms). Stop; retry after it (exit 75).
    case banned(untilMs: Int64)
    /// A Binance error that retrying will not fix: unknown symbol (-1121), bad interval (-1120), bad parameter.
    case rejected(status: Int, code: Int, message: String, request: String)
    /// 403 (WAF), 451 (restricted location), 404 and other refusals that retrying will not fix.
    case refused(status: Int, reason: String, request: String)
    /// A body that is not what Binance sends (never taken as "no data").
    case invalidResponse(String)
    /// A 429 whose `Retry-After` is longer than a run waits (15 minutes): stop now, retry after it (exit 75).
    case pauseTooLong(seconds: Int, request: String)
    /// Retries ran out on errors that were each worth retrying (network down, 5xx storm): try again later.
    case unavailable(attempts: Int, last: String)

    /// Whether this is a temporary condition (exit 75: safe to retry later).
    package var isTemporary: Bool {
        switch self {
        case .banned, .unavailable, .pauseTooLong: true
        default: false
        }
    }

    package var description: String {
        switch self {
        case .banned(let until):
            "Binance banned this IP (418) until \(ISO8601Instant.format(until)); stopping instead of hammering, retry after it"
        case .rejected(let status, let code, let message, let request):
            "Binance rejected \(request): \(message) (HTTP \(status), code \(code))"
        case .refused(let status, let reason, let request):
            "Binance refused \(request): HTTP \(status), \(reason)"
        case .invalidResponse(let detail):
            "invalid response from the exchange: \(detail)"
        case .pauseTooLong(let seconds, let request):
            "Binance answered HTTP 429 on \(request) with Retry-After \(seconds) s, beyond the 15 minutes a run waits; stopping, retry after it"
        case .unavailable(let attempts, let last):
            "exchange unavailable after \(attempts) attempts; last error: \(last)"
        }
    }

    package var errorDescription: String? { description }
}
