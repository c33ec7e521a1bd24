/// Levenshtein distance and "did you mean" suggestions for unknown keys and symbols.
package enum EditDistance {
    /// The number of single-character edits turning `a` into `b`.
    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// Up to `limit` candidates nearest to `word` (case-insensitive), closest first, ties in alphabetical order;
    /// only candidates within `maxDistance` edits.
    package static func nearest(to word: String, in candidates: [String], limit: Int = 3, maxDistance: Int) -> [String]
    {
        let lowered = word.lowercased()
        return
            candidates
            .map { (candidate: $0, distance: distance(lowered, $0.lowercased())) }
            .filter { $0.distance <= maxDistance }
            .sorted { ($0.distance, $0.candidate) < ($1.distance, $1.candidate) }
            .prefix(limit)
            .map(\.candidate)
    }
}
