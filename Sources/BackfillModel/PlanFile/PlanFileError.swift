import Foundation

/// A plan file that cannot be used: unreadable, malformed YAML, unknown key, wrong type or a broken rule.
///
/// Always one line, `file:line:column: reason`, and always a usage error (exit 64).
package struct PlanFileError: Error, Equatable, CustomStringConvertible, LocalizedError {
    package var location: SourceLocation?
    package var file: String
    package var reason: String

    package init(at location: SourceLocation, _ reason: String) {
        self.location = location
        self.file = location.file
        self.reason = reason
    }

    package init(file: String, _ reason: String) {
        self.location = nil
        self.file = file
        self.reason = reason
    }

    package var description: String {
        if let location { return "\(location): \(reason)" }
        return "\(file): \(reason)"
    }

    package var errorDescription: String? { description }
}
