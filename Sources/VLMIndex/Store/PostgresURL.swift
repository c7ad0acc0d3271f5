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
        // A port that does not parse (`99999999999999999999`) is nil, as an absent one is: tell them apart by the
        // text, or the connection would go to 5432 (or 70000 wrap to 4464) with the credentials.
        let authority =
            value.components(separatedBy: "://").dropFirst().joined(separator: "://")
            .split(separator: "/", maxSplits: 1).first?.split(separator: "?").first ?? ""
        let hostAndPort = authority.split(separator: "@").last ?? ""
        let givesPort = hostAndPort.hasPrefix("[") ? hostAndPort.contains("]:") : hostAndPort.contains(":")
        if givesPort, !(parts.port.map { (1...65535).contains($0) } ?? false) {
            throw IndexError.badURL(url: Self.mask(value), reason: "the port must be a number from 1 to 65535")
        }
        guard let user = parts.user, !user.isEmpty else {
            throw IndexError.badURL(url: Self.mask(value), reason: "no user name")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw IndexError.badURL(url: Self.mask(value), reason: "no database name after the port")
        }
        // An IPv6 address comes bracketed (`[::1]`); the connection wants it bare.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
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

    /// `value` with any password replaced by `***`, whether or not the URL parses (a typo in the port, a `#` in the
    /// password): then whatever stands between `user:` and the last `@` is the password.
    public static func mask(_ value: String) -> String {
        if var parts = URLComponents(string: value), parts.host != nil {
            guard parts.password != nil else { return value }
            parts.password = "***"
            return parts.string ?? value
        }
        guard let scheme = value.range(of: "://"), let at = value.range(of: "@", options: .backwards),
            scheme.upperBound < at.lowerBound,
            let colon = value[scheme.upperBound..<at.lowerBound].firstIndex(of: ":")
        else { return value }
        return String(value[...colon]) + "***" + String(value[at.lowerBound...])
    }
}
