import HTTPTypes
import Hummingbird

extension Router {
    /// A router for the servers' routes: each GET route answers HEAD too, as GET without the body (RFC 9110 §9.3.2).
    static func answeringHead() -> Router { Router(context: Context.self, options: .autoGenerateHeadEndpoints) }

    /// A path the router serves, asked with another method, answers 405 with `Allow` instead of 404 (RFC 9110
    /// §15.5.6). Call after the last route is added.
    func answeringOtherMethods() -> Router {
        add(middleware: MethodNotAllowedMiddleware<Context>(routes: routes.map { ($0.path.description, $0.method) }))
    }
}

/// Turns the router's 404 for a path it serves under other methods into 405 with `Allow`. Added after the last
/// route, it wraps only the router's not-found responder.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each served path's segments (a capture, `{name}`, matches any one segment) and the methods it answers.
    let paths: [(segments: [Substring], allow: String)]

    /// `routes`: each route's path as `RouterPath` describes it (`/api/videos/{id}`) and its method.
    init(routes: [(path: String, method: HTTPRequest.Method)]) {
        var methods: [String: [HTTPRequest.Method]] = [:]
        for route in routes { methods[route.path, default: []].append(route.method) }
        paths = methods.map { path, served in
            // GET routes answer HEAD too (`Router.answeringHead`).
            let all = served + (served.contains(.get) && !served.contains(.head) ? [.head] : [])
            return (path.split(separator: "/"), all.map(\.rawValue).sorted().joined(separator: ", "))
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let asked = request.uri.path.split(separator: "/")
            let served = paths.first { path in
                path.segments.count == asked.count
                    && zip(path.segments, asked).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
            }
            guard let served else { throw error }
            var response = APIError.response(
                .methodNotAllowed, "\(request.method.rawValue) is not served at this path; it answers \(served.allow)")
            response.headers[.allow] = served.allow
            return response
        }
    }
}
