import Foundation

/// A parsed `postgres://user:password@host:port/database?sslmode=…` URL.
public struct PostgresURL: Sendable, Equatable {
    /// How the connection uses TLS (libpq's `sslmode`; `verify-ca`/`verify-full` are treated as `require`).
    public enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    /// Parses `value`; a malformed URL is `IndexError.badURL`.
    public init(_ value: String) throws {
        guard let parts = URLComponents(string: value), let host = parts.host, !host.isEmpty else {
            throw IndexError.badURL(url: Self.mask(value), reason: "expected postgres://user:password@host:port/db")
        }
        guard let user = parts.user, !user.isEmpty else {
            throw IndexError.badURL(url: Self.mask(value), reason: "no user name")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw IndexError.badURL(url: Self.mask(value), reason: "no database name after the port")
        }
        self.host = host
        self.port = parts.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = parts.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        let mode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        switch mode {
        case "disable", "allow": sslMode = .disable
        case "prefer": sslMode = .prefer
        case "require", "verify-ca", "verify-full": sslMode = .require
        default:
            throw IndexError.badURL(
                url: Self.mask(value), reason: "sslmode '\(mode)' is not one of disable, prefer, require")
        }
    }

    /// The URL without its password, for messages.
    public var display: String {
        "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// `value` with any password replaced by `***`.
    static func mask(_ value: String) -> String {
        guard var parts = URLComponents(string: value), parts.password != nil else { return value }
        parts.password = "***"
        return parts.string ?? value
    }
}
