import Foundation

/// Where a PostgreSQL ledger is, parsed from a `postgresql://` (or `postgres://`) URL as libpq reads one, with
/// libpq's fall-backs for what the URL leaves out: `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`,
/// `PGSSLMODE`, then the password file (`PGPASSFILE`, else `~/.pgpass`). The password never leaves this value: its
/// ``description`` (what messages, logs and the ledger's run records see) has none.
package struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    package enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it (libpq's default), without checking its certificate.
        case prefer
        /// TLS always; `verify-full` also checks the certificate against the system's roots and the host name.
        case require
        case verifyFull = "verify-full"
    }

    package var host: String
    package var port: Int
    package var user: String
    package var database: String
    package var password: String?
    package var tls: TLSMode
    /// Where the password came from (for a message when authentication fails): "the URL", "PGPASSWORD", a file.
    package var passwordSource: String?

    /// Whether `text` names a PostgreSQL ledger (a `postgresql://` or `postgres://` URL).
    package static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
    }

    /// Parses `url`, filling in from `environment` and the password file.
    /// - Throws: ``LedgerError/cannotOpen(path:reason:)`` for a URL that is not one (the message never repeats a
    ///   password).
    package init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(LedgerError) {
        guard Self.isURL(url), let schemeEnd = url.range(of: "://") else {
            throw .cannotOpen(path: "the PostgreSQL URL", reason: "it does not start with postgresql://")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for item in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let key = Self.decode(parts[0]) else { continue }
                query[key] = parts.count > 1 ? Self.decode(parts[1]) : ""
            }
            rest = rest[..<mark]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var urlUser: String?
        var urlPassword: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                urlUser = Self.decode(userInfo[..<colon])
                urlPassword = Self.decode(userInfo[userInfo.index(after: colon)...])
            } else {
                urlUser = Self.decode(userInfo)
            }
        }
        var urlHost: String?
        var urlPort: String?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            urlHost = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { urlPort = String(after.dropFirst()) }
        } else if let colon = rest.lastIndex(of: ":") {
            urlHost = Self.decode(rest[..<colon])
            urlPort = String(rest[rest.index(after: colon)...])
        } else if !rest.isEmpty {
            urlHost = Self.decode(rest)
        }
        func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
        host = nonEmpty(query["host"]) ?? nonEmpty(urlHost) ?? nonEmpty(environment["PGHOST"]) ?? "localhost"
        let portText = nonEmpty(query["port"]) ?? nonEmpty(urlPort) ?? nonEmpty(environment["PGPORT"]) ?? "5432"
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw .cannotOpen(path: "the PostgreSQL URL", reason: "its port '\(portText.prefix(12))' is not a port")
        }
        self.port = port
        user =
            nonEmpty(query["user"]) ?? nonEmpty(urlUser) ?? nonEmpty(environment["PGUSER"])
            ?? nonEmpty(environment["USER"]) ?? "postgres"
        database =
            nonEmpty(query["dbname"]) ?? nonEmpty(path.isEmpty ? nil : Self.decode(path))
            ?? nonEmpty(environment["PGDATABASE"]) ?? user
        let modeText = nonEmpty(query["sslmode"]) ?? nonEmpty(environment["PGSSLMODE"]) ?? "prefer"
        switch modeText {
        case "disable", "allow": tls = .disable
        case "prefer": tls = .prefer
        case "require", "verify-ca": tls = .require
        case "verify-full": tls = .verifyFull
        default:
            throw .cannotOpen(
                path: "the PostgreSQL URL",
                reason: "sslmode '\(modeText.prefix(20))' is not one of disable, prefer, require, verify-full")
        }
        if let urlPassword = nonEmpty(query["password"]) ?? urlPassword {
            password = urlPassword
            passwordSource = "the URL"
        } else if let variable = nonEmpty(environment["PGPASSWORD"]) {
            password = variable
            passwordSource = "PGPASSWORD"
        } else {
            let file =
                nonEmpty(environment["PGPASSFILE"])
                ?? (nonEmpty(environment["HOME"]) ?? NSHomeDirectory()) + "/.pgpass"
            password = Self.passwordFromFile(file, host: host, port: port, database: database, user: user)
            passwordSource = password == nil ? nil : "the password file"
        }
    }

    /// `postgresql://user@host:port/database`: never the password.
    package var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(shownHost):\(port)/\(database)"
    }

    /// A unix-domain socket directory (a host starting with `/`, as libpq reads one).
    package var socketPath: String? {
        host.hasPrefix("/") ? host + "/.s.PGSQL.\(port)" : nil
    }

    /// The password for this server from a libpq password file (`host:port:database:user:password` lines, `*`
    /// matching anything, `\:` and `\\` escaped); like libpq, a file others can read is ignored.
    static func passwordFromFile(_ file: String, host: String, port: Int, database: String, user: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
            let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue, permissions & 0o077 == 0,
            let text = try? String(contentsOfFile: file, encoding: .utf8)
        else { return nil }
        let hostKey = host.hasPrefix("/") ? "localhost" : host
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = splitEscaped(line)
            guard fields.count == 5 else { continue }
            let wanted = [hostKey, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    private static func splitEscaped(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    private static func decode(_ text: Substring) -> String? { String(text).removingPercentEncoding }
}
