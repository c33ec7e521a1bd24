import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// A deterministic generator, so a failing case can be replayed from its seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

struct RangeSetTests {
    /// The naive model: the set of candle indices (1h candles from 2024-01-01) the ranges cover.
    static let origin = utc(2024, 1, 1)
    static let step = Timeframe.hourMs

    static func randomRanges(_ rng: inout SplitMix, count: Int, span: Int) -> [TimeRange] {
        (0..<count).map { _ in
            let a = Int64.random(in: 0..<Int64(span), using: &rng)
            let b = a + Int64.random(in: 1...12, using: &rng)
            return TimeRange(uncheckedLower: origin + a * step, upper: origin + b * step)
        }
    }

    static func model(_ ranges: [TimeRange]) -> Set<Int64> {
        var set = Set<Int64>()
        for range in ranges {
            var t = range.lowerBound
            while t < range.upperBound {
                set.insert((t - origin) / step)
                t += step
            }
        }
        return set
    }

    static func model(_ set: RangeSet) -> Set<Int64> { model(set.runs) }

    @Test(arguments: 0..<200)
    func operationsMatchTheNaiveModel(seed: Int) {
        var rng = SplitMix(state: UInt64(seed) &* 7919)
        let a = Self.randomRanges(&rng, count: Int.random(in: 0...15, using: &rng), span: 120)
        let b = Self.randomRanges(&rng, count: Int.random(in: 0...15, using: &rng), span: 120)
        let setA = RangeSet(a)
        let setB = RangeSet(b)
        let modelA = Self.model(a)
        let modelB = Self.model(b)
        #expect(Self.model(setA) == modelA, "seed \(seed)")
        #expect(Self.model(setA.union(setB)) == modelA.union(modelB), "seed \(seed)")
        #expect(Self.model(setA.subtracting(setB)) == modelA.subtracting(modelB), "seed \(seed)")
        #expect(Self.model(setA.intersection(setB)) == modelA.intersection(modelB), "seed \(seed)")
        // Invariants: sorted, disjoint and non-adjacent runs.
        for set in [setA, setA.union(setB), setA.subtracting(setB), setA.intersection(setB)] {
            for (x, y) in zip(set.runs, set.runs.dropFirst()) {
                #expect(x.upperBound < y.lowerBound, "seed \(seed): \(set)")
            }
        }
        for index in 0..<Int64(130) {
            let t = Self.origin + index * Self.step
            #expect(setA.contains(t) == modelA.contains(index), "seed \(seed) t \(index)")
        }
        // Contiguous run from the first covered candle = the watermark rule.
        if let first = modelA.min() {
            var end = first
            while modelA.contains(end) { end += 1 }
            #expect(setA.contiguousEnd(from: Self.origin + first * Self.step) == Self.origin + end * Self.step)
        }
    }

    @Test func sortedFastPathEqualsGeneralInit() {
        var rng = SplitMix(state: 42)
        let ranges = Self.randomRanges(&rng, count: 500, span: 2000)
        #expect(RangeSet(sortedRanges: ranges.sorted()) == RangeSet(ranges))
    }

    @Test func touchingRangesMerge() {
        let set = RangeSet([
            TimeRange(uncheckedLower: 10, upper: 20), TimeRange(uncheckedLower: 20, upper: 30),
            TimeRange(uncheckedLower: 40, upper: 50),
        ])
        #expect(set.runs == [TimeRange(uncheckedLower: 10, upper: 30), TimeRange(uncheckedLower: 40, upper: 50)])
        #expect(set.contains(TimeRange(uncheckedLower: 12, upper: 30)))
        #expect(!set.contains(TimeRange(uncheckedLower: 25, upper: 41)))
        #expect(set.totalLength == 30)
        #expect(set.contiguousEnd(from: 10) == 30)
        #expect(set.contiguousEnd(from: 35) == nil)
    }
}
