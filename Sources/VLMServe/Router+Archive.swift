import Foundation
import HTTPTypes
import Hummingbird
import VLMCore
import VLMIndex
import VLMVideo

/// Every route of the archive server, in one place (the OpenAPI document lists the same set; a test checks it).
///
///     GET  /                      → /search
///     GET  /search?text=          Search page (results rendered on the server when `text` is given)
///     GET  /videos                Videos page
///     GET  /login?token=          sets the token cookie, then → /search
///     GET  /static/{name}         style.css, app.js, videos.js
///     GET  /api/openapi.json      this API as OpenAPI 3
///     GET  /api/search            moments for a text query (?text=&top=&offset=)
///     POST /api/search/image      moments for an uploaded picture (multipart/form-data, ?top=&offset=)
///     GET  /api/videos            indexed videos
///     GET  /api/videos/{id}       one video with its captions
///     GET  /api/videos/{id}/file  the video file itself (Range requests)
///     GET  /api/thumbnail         JPEG of ?video=ID at ?t=SECONDS
public func buildArchiveRouter(archive: Archive, options: ServeOptions) -> Router<BasicRequestContext> {
    let router = Router<BasicRequestContext>.answeringHead()
    if let token = options.token { router.add(middleware: TokenAuthMiddleware(token: token)) }
    router.add(middleware: RequestTimeoutMiddleware(limit: options.requestTimeout))
    let pages = Pages(archive: archive, options: options)

    // MARK: Pages
    router.get("/") { _, _ in Response.redirect(to: "/search") }
    router.get("/search") { request, _ in try await pages.search(request) }
    router.get("/videos") { _, _ in try await pages.videos() }
    router.get("/login") { request, _ in pages.login(request) }
    router.get("/static/:name") { _, context in
        guard let name = context.parameters.get("name"), let asset = Assets.all[name] else {
            return APIError.response(.notFound, "no such asset")
        }
        return Response.bytes(Array(asset.body.utf8), type: asset.type, cache: "max-age=300")
    }

    // MARK: API
    router.get("/api/openapi.json") { _, _ in
        Response.bytes(Array(OpenAPI.document.utf8), type: "application/json")
    }
    router.get("/api/search") { request, _ in
        let query = request.uri.queryParameters
        do {
            let text = try QueryValidation.text(query["text"].map(String.init), limit: options.maxQueryCharacters)
            let page = try QueryValidation.page(
                top: query["top"].map(String.init), offset: query["offset"].map(String.init), options: options)
            let moments = try await offload { try archive.search(text: text, top: page.top, offset: page.offset) }
            return Response.json(
                try SearchResults(archive: archive, query: text, offset: page.offset, moments: moments))
        } catch let error as BadRequest {
            return APIError.response(.badRequest, error.description)
        }
    }
    router.post("/api/search/image") { request, context in
        let query = request.uri.queryParameters
        let page: (top: Int, offset: Int)
        do {
            page = try QueryValidation.page(
                top: query["top"].map(String.init), offset: query["offset"].map(String.init), options: options)
        } catch let error as BadRequest { return APIError.response(.badRequest, error.description) }
        return try await ImageUpload.handle(request, context: context, archive: archive, options: options, page: page)
    }
    router.get("/api/videos") { _, _ in
        let videos = try await offload { try archive.videos() }
        return Response.json(["videos": videos.map { VideoJSON($0, captions: nil) }])
    }
    router.get("/api/videos/:id") { _, context in
        guard let video = try await archive.video(parameter: context.parameters.get("id")) else {
            return APIError.response(.notFound, "no indexed video with this id; see /api/videos")
        }
        let captions = try await offload { try archive.captions(videoID: video.id) }
        return Response.json(VideoJSON(video, captions: captions))
    }
    router.get("/api/videos/:id/file") { request, context in
        guard let video = try await archive.video(parameter: context.parameters.get("id")) else {
            return APIError.response(.notFound, "no indexed video with this id; see /api/videos")
        }
        return try await VideoFile.response(for: video, request: request, context: context)
    }
    router.get("/api/thumbnail") { request, _ in
        let query = request.uri.queryParameters
        guard let video = try await archive.video(parameter: query["video"].map(String.init)) else {
            return APIError.response(.notFound, "no indexed video with this id; see /api/videos")
        }
        guard let raw = query["t"], let seconds = Double(String(raw)), seconds.isFinite, seconds >= 0,
            seconds <= max(video.duration ?? 0, 0) + 1
        else {
            return APIError.response(.badRequest, "t must be a time in seconds within the video")
        }
        do {
            let jpeg = try await offload { try archive.thumbnail(video: video, at: seconds) }
            return Response.bytes(Array(jpeg), type: "image/jpeg", cache: "max-age=3600")
        } catch let error as VideoError {
            return APIError.response(.unprocessableContent, "\(error)")
        }
    }
    return router.answeringOtherMethods()
}

// MARK: - Helpers

extension Archive {
    /// The complete video whose index id is `parameter` (a decimal id, never a path), or nil.
    func video(parameter: String?) async throws -> IndexedVideo? {
        guard let id = Self.videoID(parameter: parameter) else { return nil }
        return try await offload { try self.video(id: id) }
    }

    /// The index id a path or query `parameter` names: 1 to 18 decimal digits, nothing else.
    static func videoID(parameter: String?) -> Int64? {
        guard let parameter, parameter.count <= 18, parameter.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return Int64(parameter)
    }
}

extension Response {
    static func bytes(_ bytes: [UInt8], type: String, cache: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        if let cache { headers[.cacheControl] = cache }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(bytes: bytes)))
    }

    /// `value` in the one result encoding (`ResultJSON`: snake_case, sorted keys).
    static func json<T: Encodable>(_ value: T) -> Response {
        bytes(ResultJSON.bytes(value), type: "application/json")
    }

    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }
}
