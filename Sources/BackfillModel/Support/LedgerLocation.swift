import Foundation

/// What a plan's `ledger:` (or `--ledger`, `LEDGER_PATH`, `LEDGER_URL`) names: a SQLite file, or a PostgreSQL
/// database by its `postgresql://` URL (§13).
package enum LedgerLocation {
    /// Whether `text` is a PostgreSQL URL (`postgresql://…` or `postgres://…`) rather than a file path.
    package static func isPostgresURL(_ text: String) -> Bool {
        let lower = text.prefix(13).lowercased()
        return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
    }

    /// `text` as it may be shown, saved or logged: a URL's password (in its user part or a `password=` parameter)
    /// removed; a path unchanged.
    package static func redacted(_ text: String) -> String {
        guard isPostgresURL(text), let scheme = text.range(of: "://") else { return text }
        var rest = Substring(text[scheme.upperBound...])
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var authority = rest
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[slash...]
        }
        var result = String(text[..<scheme.upperBound])
        if let at = authority.lastIndex(of: "@") {
            let user = authority[..<at]
            result += (user.firstIndex(of: ":").map { user[..<$0] } ?? user) + "@"
            result += authority[authority.index(after: at)...]
        } else {
            result += authority
        }
        result += path
        if let query {
            let kept = query.split(separator: "&").filter { !$0.lowercased().hasPrefix("password=") }
            if !kept.isEmpty { result += "?" + kept.joined(separator: "&") }
        }
        return result
    }
}
