import Foundation
import HTTPTypes
import Hummingbird
import VLMCore
import VLMPublish

/// `POST /api/queries/{add|remove|set}`: the MQTT control topic over HTTP. The body is the MQTT payload,
/// `{"queries": ["a dog", ...]}`, parsed by `ControlRequest.parse` with the same limits, and applied by
/// `ControlRequest.apply` to the same query set: one validation, one code path.
enum QueryControl {
    static let limits = ControlRequest.Limits()

    static var noMatcher: Response {
        APIError.response(.conflict, "this run matches no queries; start it with --query or --http")
    }

    static func handle(_ request: Request, action raw: String?, live: LiveSources) async throws -> Response {
        guard let raw, let action = ControlRequest.Action(rawValue: raw) else {
            return APIError.response(.notFound, "no such action; use /api/queries/add, /remove or /set")
        }
        guard let controller = live.queries else { return noMatcher }
        // JSON only: a cross-site form (text/plain, urlencoded) cannot post here without a CORS preflight.
        // The media type itself, before any `; charset=…`: `application/jsonp` is not JSON.
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let mediaType = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard mediaType == "application/json" else {
            return APIError.response(.unsupportedMediaType, "send the queries as application/json")
        }
        guard let body = try await request.collectBody(upTo: limits.maxPayloadBytes) else {
            return APIError.response(.contentTooLarge, "the body is larger than \(limits.maxPayloadBytes) bytes")
        }
        let parsed: ControlRequest
        do {
            parsed = try ControlRequest.parse(body, action: action, limits: limits)
        } catch {
            return APIError.response(.badRequest, "\(error)")
        }
        do {
            // Adding embeds the text with the model: blocking work, off the event loop.
            let active = try await offload { try parsed.apply(to: controller, limits: limits) }
            live.onQueriesChanged(active)
            return Response.json(["queries": active])
        } catch let error as RequestTimedOut {
            throw error
        } catch {
            return APIError.response(.unprocessableContent, "\(error)")
        }
    }
}

/// `GET /login?token=`: sets the cookie `TokenAuthMiddleware` accepts, then goes to `home`.
enum Login {
    static func response(_ request: Request, token expected: String?, home: String) -> Response {
        guard let expected else { return Response.redirect(to: home) }
        let given = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard ConstantTime.equal(given, expected) else {
            return APIError.response(.unauthorized, "wrong token")
        }
        var response = Response.redirect(to: home)
        response.headers[.setCookie] =
            "\(TokenAuthMiddleware<BasicRequestContext>.cookie)=\(given); Path=/; HttpOnly; SameSite=Strict"
        return response
    }
}

/// `GET /api/live/state`: what the page needs to draw itself before the first event arrives.
struct LiveState: Encodable {
    struct Stream: Encodable {
        var name: String
        var status: StreamStatus?
        var open: [QueryEvent]
        var scores: [String: [LiveFeed.ScorePoint]]
        var thumbnail: String
    }

    var streams: [Stream]
    var queries: [String]
    var recent: [KeptMessage]
    var lastEventID: Int
    var scoreWindow: Double

    enum CodingKeys: String, CodingKey {
        case streams, queries, recent
        case lastEventID = "last_event_id"
        case scoreWindow = "score_window"
    }

    init(feed: LiveFeed, queries: [String]) {
        let s = feed.state.current
        streams = feed.streams.map { name in
            Stream(
                name: name, status: s.statuses[name],
                open: (s.open[name] ?? [:]).values.sorted { $0.startPTS < $1.startPTS },
                scores: (s.scores[name] ?? [:]).mapValues(Array.init),
                thumbnail: "/api/live/thumbnail?stream="
                    + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        self.queries = queries
        recent = s.recent.map(KeptMessage.init)
        lastEventID = s.nextID - 1
        scoreWindow = feed.scoreWindow
    }
}

/// A kept message in the state: `{"kind", "id", "data"}`, `data` as the event stream sends it.
struct KeptMessage: Encodable {
    var message: LiveFeed.Message

    enum CodingKeys: String, CodingKey { case kind, id, data }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(message.kind, forKey: .kind)
        try c.encode(message.id, forKey: .id)
        try c.encode(message.payload, forKey: .data)
    }
}
