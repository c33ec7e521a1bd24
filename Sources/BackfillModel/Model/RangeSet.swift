/// A set of epoch milliseconds stored as sorted, disjoint, non-adjacent half-open ranges.
///
/// This is the heart of planning: coverage is the union of file and gap ranges, the work is desired − coverage, and
/// the watermark is the end of the first contiguous run. Every operation is a linear merge over sorted runs, so a
/// pair with a million files costs one sort (or none, when SQLite hands the ranges over in order) and one pass.
package struct RangeSet: Sendable, Equatable, CustomStringConvertible {
    /// The contiguous runs, ascending; touching or overlapping input ranges are merged.
    package private(set) var runs: [TimeRange]

    package init() { runs = [] }

    /// Builds a set from ranges in any order.
    package init<S: Sequence>(_ ranges: S) where S.Element == TimeRange {
        self.init(sortedRanges: ranges.sorted())
    }

    /// Builds a set from ranges already sorted by lower bound (the fast path for ledger reads).
    package init<S: Sequence>(sortedRanges ranges: S) where S.Element == TimeRange {
        var merged: [TimeRange] = []
        merged.reserveCapacity(ranges.underestimatedCount)
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                precondition(range.lowerBound >= last.lowerBound, "RangeSet(sortedRanges:) needs sorted input")
                if range.upperBound > last.upperBound {
                    merged[merged.count - 1] = TimeRange(uncheckedLower: last.lowerBound, upper: range.upperBound)
                }
            } else {
                merged.append(range)
            }
        }
        runs = merged
    }

    package var isEmpty: Bool { runs.isEmpty }

    /// The total number of milliseconds in the set.
    package var totalLength: Int64 { runs.reduce(0) { $0 + $1.length } }

    package func contains(_ t: Int64) -> Bool {
        guard let run = run(containing: t) else { return false }
        return run.contains(t)
    }

    /// Whether every instant of `range` is in the set (runs are merged, so one run must hold it all).
    package func contains(_ range: TimeRange) -> Bool {
        guard let run = run(containing: range.lowerBound) else { return false }
        return run.contains(range.lowerBound) && range.upperBound <= run.upperBound
    }

    /// The first run whose upper bound lies after `t` (binary search).
    private func run(containing t: Int64) -> TimeRange? {
        var low = 0
        var high = runs.count
        while low < high {
            let mid = (low + high) / 2
            if runs[mid].upperBound <= t { low = mid + 1 } else { high = mid }
        }
        return low < runs.count ? runs[low] : nil
    }

    package func union(_ other: RangeSet) -> RangeSet {
        var all: [TimeRange] = []
        all.reserveCapacity(runs.count + other.runs.count)
        var i = 0
        var j = 0
        while i < runs.count || j < other.runs.count {
            if j == other.runs.count || (i < runs.count && runs[i].lowerBound <= other.runs[j].lowerBound) {
                all.append(runs[i])
                i += 1
            } else {
                all.append(other.runs[j])
                j += 1
            }
        }
        return RangeSet(sortedRanges: all)
    }

    package mutating func formUnion(_ other: RangeSet) { self = union(other) }

    package mutating func insert(_ range: TimeRange) { formUnion(RangeSet(sortedRanges: [range])) }

    package func intersection(_ other: RangeSet) -> RangeSet {
        var result: [TimeRange] = []
        var i = 0
        var j = 0
        while i < runs.count && j < other.runs.count {
            if let overlap = runs[i].intersection(other.runs[j]) { result.append(overlap) }
            if runs[i].upperBound < other.runs[j].upperBound { i += 1 } else { j += 1 }
        }
        var set = RangeSet()
        set.runs = result
        return set
    }

    package func subtracting(_ other: RangeSet) -> RangeSet {
        var result: [TimeRange] = []
        var j = 0
        for run in runs {
            var lower = run.lowerBound
            while j < other.runs.count && other.runs[j].upperBound <= lower { j += 1 }
            var k = j
            while k < other.runs.count && other.runs[k].lowerBound < run.upperBound {
                if other.runs[k].lowerBound > lower {
                    result.append(TimeRange(uncheckedLower: lower, upper: other.runs[k].lowerBound))
                }
                lower = max(lower, other.runs[k].upperBound)
                if lower >= run.upperBound { break }
                k += 1
            }
            if lower < run.upperBound { result.append(TimeRange(uncheckedLower: lower, upper: run.upperBound)) }
        }
        var set = RangeSet()
        set.runs = result
        return set
    }

    /// The part of the set inside `range`.
    package func clamped(to range: TimeRange) -> RangeSet { intersection(RangeSet(sortedRanges: [range])) }

    /// The end of the run that contains `start` (the contiguous coverage from `start`), or `nil` if `start` is
    /// not in the set.
    package func contiguousEnd(from start: Int64) -> Int64? {
        guard let run = run(containing: start), run.contains(start) else { return nil }
        return run.upperBound
    }

    package var description: String { runs.map(\.description).joined(separator: " ∪ ") }
}
