/// A half-open range of epoch milliseconds `[lowerBound, upperBound)`; never empty.
package struct TimeRange: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package let lowerBound: Int64
    package let upperBound: Int64

    /// Creates `[lowerBound, upperBound)`; returns `nil` when it would be empty.
    package init?(_ lowerBound: Int64, _ upperBound: Int64) {
        guard lowerBound < upperBound else { return nil }
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    /// Creates a range the caller knows to be non-empty.
    package init(uncheckedLower lowerBound: Int64, upper upperBound: Int64) {
        precondition(lowerBound < upperBound, "empty TimeRange")
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    package var length: Int64 { upperBound - lowerBound }

    package func contains(_ t: Int64) -> Bool { t >= lowerBound && t < upperBound }

    package func intersection(_ other: TimeRange) -> TimeRange? {
        TimeRange(max(lowerBound, other.lowerBound), min(upperBound, other.upperBound))
    }

    package func overlaps(_ other: TimeRange) -> Bool {
        lowerBound < other.upperBound && other.lowerBound < upperBound
    }

    package var description: String { "[\(lowerBound), \(upperBound))" }

    package static func < (lhs: TimeRange, rhs: TimeRange) -> Bool {
        (lhs.lowerBound, lhs.upperBound) < (rhs.lowerBound, rhs.upperBound)
    }

    private enum CodingKeys: String, CodingKey {
        case lowerBound = "start_ms"
        case upperBound = "end_ms"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let lower = try container.decode(Int64.self, forKey: .lowerBound)
        let upper = try container.decode(Int64.self, forKey: .upperBound)
        guard lower < upper else {
            throw DecodingError.dataCorruptedError(
                forKey: .upperBound, in: container, debugDescription: "end_ms must be greater than start_ms")
        }
        self.lowerBound = lower
        self.upperBound = upper
    }
}
