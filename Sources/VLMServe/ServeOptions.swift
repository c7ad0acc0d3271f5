import Foundation
import VLMPublish

/// How `vlm-stream serve` listens and what it accepts.
public struct ServeOptions: Sendable {
    /// Address to bind (loopback by default).
    public var host = "127.0.0.1"
    /// Port (0 picks a free one).
    public var port = 8080
    /// When set, every request but `/login` needs `Authorization: Bearer <token>` or the login cookie.
    public var token: String?
    /// Longest time a handler may take to produce a response head (search, thumbnail, upload decode): 503 after.
    public var requestTimeout: Duration = .seconds(20)
    /// A connection idle this long is closed (slow or stuck clients).
    public var idleTimeout: Duration = .seconds(30)
    /// Largest image upload accepted, in bytes (413 above).
    public var uploadLimit = 10 << 20
    /// Most moments one search request may ask for (`top`), and deepest `offset + top`.
    public var maxTop = 100
    public var maxRank = 1000
    /// Longest text query in Unicode code points: the MQTT control topic's limit.
    public var maxQueryCharacters = ControlRequest.Limits().maxQueryCharacters

    /// The defaults: loopback port 8080, no token, 20 s per request, 10 MiB uploads.
    public init() {}

    /// True when `host` is a loopback address (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Why a request's parameters were refused (400 with the message as `error`).
struct BadRequest: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Query parameter validation shared by the API and the pages.
enum QueryValidation {
    /// A text query: trimmed, non-empty, at most `limit` code points, without control characters (as on the MQTT
    /// control topic) or U+FFFD (what a percent-encoding of bytes that are not UTF-8 decodes to).
    static func text(_ raw: String?, limit: Int) throws(BadRequest) -> String {
        let text = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw BadRequest("text is empty; give a query, e.g. ?text=a+red+car") }
        guard text.unicodeScalars.count <= limit else {
            throw BadRequest("text is longer than \(limit) characters")
        }
        guard !ControlRequest.hasControlCharacters(text) else {
            throw BadRequest("text contains control characters; send plain words")
        }
        guard !text.unicodeScalars.contains("\u{FFFD}") else {
            throw BadRequest("text is not valid UTF-8; percent-encode the query's UTF-8 bytes")
        }
        return text
    }

    /// An integer parameter in `range`, `fallback` when absent.
    static func integer(_ raw: String?, name: String, in range: ClosedRange<Int>, fallback: Int) throws(BadRequest)
        -> Int
    {
        guard let raw else { return fallback }
        guard let value = Int(raw), range.contains(value) else {
            throw BadRequest("\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// `top` and `offset` of a search, within the server's limits.
    static func page(top: String?, offset: String?, options: ServeOptions) throws(BadRequest) -> (top: Int, offset: Int)
    {
        let top = try integer(top, name: "top", in: 1...options.maxTop, fallback: 20)
        let offset = try integer(offset, name: "offset", in: 0...options.maxRank, fallback: 0)
        guard top + offset <= options.maxRank else {
            throw BadRequest("offset + top must be at most \(options.maxRank)")
        }
        return (top, offset)
    }
}
