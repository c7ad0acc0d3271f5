import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VLMCore
import VLMPublish

/// Every route of a running pipeline's server, in one place (`LiveOpenAPI` lists the same set; a test checks it).
/// Without `live` (`--metrics-port` alone) only `/metrics`, and `/` answering the same.
///
///     GET  /                          → /live
///     GET  /live                      Live page (streams, thumbnails, queries and their scores, events, captions)
///     GET  /login?token=              sets the token cookie, then → /live
///     GET  /static/{name}             style.css, live.js
///     GET  /metrics                   Prometheus text exposition format 0.0.4
///     GET  /api/openapi.json          this API as OpenAPI 3
///     GET  /api/live/state            streams, active queries, open and recent events, captions, answers, charts
///     GET  /api/live/events           the same as it happens: Server-Sent Events
///     GET  /api/live/thumbnail        JPEG of ?stream=NAME's latest sampled frame
///     GET  /api/queries               the active queries
///     POST /api/queries/{action}      add, remove or set queries: {"queries": [...]}, validated as on MQTT
public func buildLiveRouter(
    live: LiveSources?, metrics: @escaping @Sendable () -> [UInt8], options: ServeOptions
) -> Router<BasicRequestContext> {
    let router = Router<BasicRequestContext>.answeringHead()
    if let token = options.token { router.add(middleware: TokenAuthMiddleware(token: token)) }
    router.add(middleware: RequestTimeoutMiddleware(limit: options.requestTimeout))
    let scrape: @Sendable (Request, BasicRequestContext) -> Response = { _, _ in
        Response.bytes(metrics(), type: "text/plain; version=0.0.4; charset=utf-8")
    }
    router.get("/metrics", use: scrape)
    guard let live else {
        router.get("/", use: scrape)
        return router.answeringOtherMethods()
    }
    let page = LivePage(live: live, options: options)

    // MARK: Pages
    router.get("/") { _, _ in Response.redirect(to: "/live") }
    router.get("/live") { _, _ in page.render() }
    router.get("/login") { request, _ in Login.response(request, token: options.token, home: "/live") }
    router.get("/static/:name") { _, context in
        guard let name = context.parameters.get("name"), let asset = LiveAssets.all[name] else {
            return APIError.response(.notFound, "no such asset")
        }
        return Response.bytes(Array(asset.body.utf8), type: asset.type, cache: "max-age=300")
    }

    // MARK: API
    router.get("/api/openapi.json") { _, _ in
        Response.bytes(Array(LiveOpenAPI.document.utf8), type: "application/json")
    }
    router.get("/api/live/state") { _, _ in
        Response.json(LiveState(feed: live.feed, queries: live.queries?.activeQueries ?? []))
    }
    router.get("/api/live/events") { request, _ in
        // A reconnecting EventSource sends Last-Event-ID; the page's first connection says ?after= (the state's
        // last_event_id), so nothing it already drew is sent twice.
        let after = request.headers[.lastEventID] ?? request.uri.queryParameters["after"].map(String.init)
        // HEAD (answered by this GET route) gets the stream's head without subscribing.
        if request.method == .head { return EventStream.head }
        guard live.feed.subscriberCount < EventStream.maxStreams else {
            return APIError.response(
                .serviceUnavailable, "\(EventStream.maxStreams) event streams are open; close one and try again")
        }
        return EventStream.response(feed: live.feed, lastEventID: after)
    }
    router.get("/api/live/thumbnail") { request, _ in
        let name = request.uri.queryParameters["stream"].map(String.init)
        // A stream is named from the run's own list, never taken from the request as is.
        guard let name, let stream = live.feed.streams.first(where: { $0 == name }) else {
            return APIError.response(.notFound, "no stream of that name; see /api/live/state")
        }
        guard let jpeg = try await offload({ live.thumbnail(stream, 64 << 10) }) else {
            return APIError.response(.notFound, "no frame of \(stream) yet")
        }
        return Response.bytes(jpeg, type: "image/jpeg", cache: "no-store")
    }
    router.get("/api/queries") { _, _ in
        guard let queries = live.queries else { return QueryControl.noMatcher }
        return Response.json(["queries": queries.activeQueries])
    }
    router.post("/api/queries/:action") { request, context in
        try await QueryControl.handle(request, action: context.parameters.get("action"), live: live)
    }
    return router.answeringOtherMethods()
}

extension HTTPField.Name {
    /// `Last-Event-ID`, sent by a reconnecting `EventSource`.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}

/// `GET /api/live/events`: the feed as `text/event-stream`.
enum EventStream {
    /// Seconds between keep-alive comments (under the server's 30 s idle limit and most proxies' 60 s).
    static let keepAlive: Duration = .seconds(15)
    /// Event streams open at once: each holds up to `LiveFeed.subscriberBuffer` messages for a slow reader.
    static let maxStreams = 64

    static func response(feed: LiveFeed, lastEventID: String?) -> Response {
        let after = lastEventID.flatMap { Int($0.prefix(18)) }
        let (replay, live) = feed.subscribe(after: after)
        let body = ResponseBody { writer in
            // The reconnect delay a browser uses after the server closes the stream (at shutdown).
            try await writer.write(ByteBuffer(string: "retry: 2000\n: vlm-stream live\n\n"))
            for message in replay { try await writer.write(ByteBuffer(string: message.wire)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (ticks, tick) = AsyncStream.makeStream(of: String.self)
                group.addTask {
                    for await message in live { tick.yield(message.wire) }
                    tick.finish()
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: keepAlive)
                        tick.yield(": keep-alive\n\n")
                    }
                }
                for await chunk in ticks { try await writer.write(ByteBuffer(string: chunk)) }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static let headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"]

    /// The answer to HEAD: the stream's headers, no body.
    static var head: Response { Response(status: .ok, headers: headers) }
}
