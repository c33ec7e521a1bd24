import Foundation

/// The machine's clock in epoch milliseconds (only for timestamps and the simulated exchange; planning uses the
/// exchange's clock).
package enum WallClock {
    package static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
