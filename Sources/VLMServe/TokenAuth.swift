import Foundation
import HTTPTypes
import Hummingbird

/// Requires the server's token on every request but `/login`: `Authorization: Bearer <token>` or the cookie that
/// `/login?token=` sets. Tokens are compared in constant time.
struct TokenAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Name of the login cookie.
    static var cookie: String { "vlm_token" }
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.uri.path == "/login" { return try await next(request, context) }
        if let presented = Self.presented(request), ConstantTime.equal(presented, token) {
            return try await next(request, context)
        }
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer realm=\"vlm-stream\""
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(
            status: .unauthorized, headers: headers,
            body: .init(
                byteBuffer: .init(
                    string: "a token is needed: open /login?token=TOKEN or send Authorization: Bearer TOKEN\n")))
    }

    /// The token a request carries, bearer header first.
    static func presented(_ request: Request) -> String? {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return request.cookies[cookie]?.value
    }
}

/// Comparison whose time depends only on the lengths, not on where the inputs differ.
public enum ConstantTime {
    /// True when `a` and `b` have the same UTF-8 bytes; every byte of the longer is examined.
    public static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count) | (x.count == y.count ? 0 : 1)
        let n = max(x.count, y.count)
        for i in 0..<n {
            let p = i < x.count ? x[i] : 0
            let q = i < y.count ? y[i] : 0
            difference |= p ^ q
        }
        return difference == 0
    }
}
