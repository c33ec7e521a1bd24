/// Decimal strings checked and compared exactly (never through a binary floating-point type): the one decimal
/// syntax of the tool, for exchange responses, landing files to adopt and `audit`'s candle rules alike.
package enum DecimalText {
    /// `digits(.digits)?`, at most 40 characters; with `signed`, a leading `-` is allowed (audit reports negative
    /// volumes rather than calling the row malformed).
    package static func isWellFormed(_ text: some StringProtocol, signed: Bool = false) -> Bool {
        guard text.utf8.count <= 40 else { return false }
        let whole = Substring(text)
        let body = signed && whole.hasPrefix("-") ? whole.dropFirst() : whole
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count)
            && parts.allSatisfy { part in !part.isEmpty && part.allSatisfy { $0.isASCIIDigit } }
    }

    /// -1, 0 or 1 as `a` is below, equal to or above `b` (both well formed).
    package static func compare(_ a: String, _ b: String) -> Int {
        let negativeA = a.hasPrefix("-") && !isZero(a)
        let negativeB = b.hasPrefix("-") && !isZero(b)
        if negativeA != negativeB { return negativeA ? -1 : 1 }
        let magnitude = compareMagnitude(a.trimmingPrefix("-"), b.trimmingPrefix("-"))
        return negativeA ? -magnitude : magnitude
    }

    private static func isZero(_ text: String) -> Bool { text.allSatisfy { $0 == "0" || $0 == "." || $0 == "-" } }

    private static func compareMagnitude(_ a: Substring, _ b: Substring) -> Int {
        func split(_ s: Substring) -> (Substring, Substring) {
            let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            var integer = parts[0].drop { $0 == "0" }
            if integer.isEmpty { integer = "" }
            var fraction = parts.count > 1 ? parts[1] : ""
            while fraction.last == "0" { fraction = fraction.dropLast() }
            return (integer, fraction)
        }
        let (ia, fa) = split(a)
        let (ib, fb) = split(b)
        if ia.count != ib.count { return ia.count < ib.count ? -1 : 1 }
        if ia != ib { return ia < ib ? -1 : 1 }
        if fa == fb { return 0 }
        return fa < fb ? -1 : 1
    }
}
