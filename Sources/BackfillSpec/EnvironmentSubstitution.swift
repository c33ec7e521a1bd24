import BackfillModel
import Foundation

/// Expands `${NAME}` and `${NAME:-default}` in plan-file string values; `$${` stands for a literal `${`.
package enum EnvironmentSubstitution {
    package enum Failure: Error, Equatable {
        case unset(String)
        case malformed(String)
    }

    /// Returns `text` with every reference replaced.
    /// - Throws: ``Failure/unset(_:)`` for a variable that is not set and has no default, ``Failure/malformed(_:)``
    ///   for an unterminated reference or an invalid name.
    package static func expand(_ text: String, environment: [String: String]) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {
                output += "${"
                rest = after.dropFirst(2)
                continue
            }
            guard after.hasPrefix("{") else {
                output += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                throw .malformed("unterminated '${' in '\(text)'")
            }
            let body = after[after.index(after: after.startIndex)..<close]
            let name: Substring
            let fallback: Substring?
            if let range = body.range(of: ":-") {
                name = body[..<range.lowerBound]
                fallback = body[range.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard isValidName(name) else { throw .malformed("invalid variable name '\(name)' in '\(text)'") }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw .unset(String(name))
            }
            rest = after[after.index(after: close)...]
        }
        output += rest
        return output
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
