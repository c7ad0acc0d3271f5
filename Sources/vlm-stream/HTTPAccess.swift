import Foundation
import VLMServe

/// What `serve` and `run --http` share about listening: the address, the token, the warning.
enum HTTPAccess {
    /// `host:port` (IPv6 as `[::1]:8080`); `flag` names the option in the error.
    static func address(_ text: String, flag: String = "--listen") throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw OptionError("\(flag) must be host:port, e.g. 127.0.0.1:8080 (got '\(text)')") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw OptionError("\(flag) must be host:port, e.g. 127.0.0.1:8080") }
        return (host, port)
    }

    /// The token from `--token` or the first line of `--token-file`, or nil.
    static func token(_ token: String?, file tokenFile: String?) throws -> String? {
        if let token {
            guard !token.isEmpty else { throw OptionError("--token is empty") }
            return token
        }
        guard let tokenFile else { return nil }
        guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            throw OptionError("cannot read --token-file \(tokenFile); check the path and permissions")
        }
        let token =
            text.split(whereSeparator: \.isNewline).first.map(String.init)?
            .trimmingCharacters(in: .whitespaces) ?? ""
        guard !token.isEmpty else {
            throw OptionError("--token-file \(tokenFile) is empty; put the token on its first line")
        }
        return token
    }

    /// Prints the warning for a server beyond loopback without a token; `exposes` says what anyone could do.
    static func warnIfOpen(_ options: ServeOptions, exposes: String) {
        guard !options.isLoopback && options.token == nil else { return }
        FileHandle.standardError.write(
            Data(
                ("warning: listening on \(options.host) without a token: anyone who can reach this port can "
                    + "\(exposes). Add --token or --token-file.\n").utf8))
    }
}
