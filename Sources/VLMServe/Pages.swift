import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VLMCore
import VLMIndex

/// The HTML pages, rendered on the server with Mustache (`Templates`); the scripts only add what needs a browser:
/// image drop, playing a moment, loading more results on scroll.
struct Pages: Sendable {
    let archive: Archive
    let options: ServeOptions
    let library: MustacheLibrary

    init(archive: Archive, options: ServeOptions) {
        self.archive = archive
        self.options = options
        // The templates are constants of this module; a syntax error in one is a programming error caught by tests.
        var library = MustacheLibrary()
        for (name, text) in Templates.all { try? library.register(text, named: name) }
        self.library = library
    }

    /// `GET /search[?text=]`.
    func search(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var page: [String: Any] = ["title": "Search", "search": true, "top": 20]
        if let raw = query["text"].map(String.init) {
            page["text"] = raw
            do {
                let text = try QueryValidation.text(raw, limit: options.maxQueryCharacters)
                let moments = try await offload { try archive.search(text: text, top: 20, offset: 0) }
                let results = try SearchResults(archive: archive, query: text, offset: 0, moments: moments)
                page["cards"] = results.moments.map(Self.card)
                page["next"] = moments.count
                page["done"] = moments.count < 20
                page["empty"] = moments.isEmpty
            } catch let error as BadRequest {
                page["error"] = error.description
            }
        }
        return html(render(page, "search"))
    }

    /// `GET /videos`.
    func videos() async throws -> Response {
        let videos = try await offload { try archive.videos() }
        var rows: [[String: Any]] = []
        for video in videos {
            let captions = try await offload { try archive.captions(videoID: video.id) }
            let duration = max(video.duration ?? captions.last?.end ?? 0, 0.001)
            rows.append([
                "id": video.id, "name": URL(fileURLWithPath: video.path).lastPathComponent,
                "duration": video.duration.map(MediaTime.format) ?? "unknown", "frames": video.frameCount,
                "model": video.model, "fps": String(format: "%g", video.fps), "precision": "fp16",
                "captioned": video.captioned,
                "thumbnail": "/api/thumbnail?video=\(video.id)&t=" + String(format: "%.1f", duration / 2),
                "captions": captions.map { caption -> [String: Any] in
                    [
                        "text": caption.text, "start": MediaTime.format(caption.start),
                        "left": String(format: "%.2f", 100 * caption.start / duration),
                        "width": String(format: "%.2f", max(0.5, 100 * (caption.end - caption.start) / duration)),
                    ]
                },
            ])
        }
        let page: [String: Any] = [
            "title": "Videos", "videosPage": true, "videos": rows, "count": rows.count, "empty": rows.isEmpty,
        ]
        return html(render(page, "videos"))
    }

    /// `GET /login?token=`: sets the cookie the auth middleware accepts and goes to the search page.
    func login(_ request: Request) -> Response {
        Login.response(request, token: options.token, home: "/search")
    }

    // MARK: - Rendering

    static func card(_ m: MomentJSON) -> [String: Any] {
        var card: [String: Any] = [
            "name": m.name, "start": String(format: "%.3f", m.moment.start),
            "range": MediaTime.format(m.moment.start) + "–" + MediaTime.format(m.moment.end),
            "score": String(format: "%.3f", m.moment.score), "thumbnail": m.thumbnail ?? "", "file": m.file ?? "",
        ]
        if let caption = m.moment.caption { card["caption"] = caption }
        switch m.moment.match {
        case .captionWords: card["why"] = "caption words"
        case .captionSimilarity: card["why"] = "caption similarity"
        case .frame, nil: break
        }
        return card
    }

    func render(_ page: [String: Any], _ template: String) -> String {
        library.render(page, withTemplate: template) ?? "template \(template) is missing"
    }

    func html(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] =
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
            + "script-src 'self'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: text)))
    }
}
