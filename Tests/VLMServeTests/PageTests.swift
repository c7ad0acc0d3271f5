import Foundation
import TestSupport
import Testing
import VLMServe

/// The pages, the static assets, the OpenAPI document and `vlm-stream serve` itself.
@Suite("pages and OpenAPI")
struct PageTests {
    @Test("/search?text= renders result cards with thumbnails on the server; / redirects to it")
    func searchPage() async throws {
        let server = try await TestServer.shared.value
        let page = try await server.http.request("GET", "/search?text=a%20person")
        #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true)
        let cards = page.text.components(separatedBy: "<article class=\"card\"").count - 1
        #expect(cards >= 3)
        #expect(page.text.contains("<img src=\"/api/thumbnail?video="))
        #expect(page.text.contains("data-file=\"/api/videos/"))
        #expect(page.text.contains("value=\"a person\""))
        #expect(page.headers["content-security-policy"]?.contains("default-src 'self'") == true)
        let root = try await server.http.request("GET", "/")
        #expect(root.status == 303 && root.headers["location"] == "/search")
        let empty = try await server.http.request("GET", "/search")
        #expect(empty.status == 200 && !empty.text.contains("<article class=\"card\""))
        let long = try await server.http.request("GET", "/search?text=" + String(repeating: "b", count: 300))
        #expect(long.status == 200 && long.text.contains("longer than 200 characters"))
    }

    @Test("text in a page is HTML-escaped")
    func escaping() async throws {
        let server = try await TestServer.shared.value
        let page = try await server.http.request("GET", "/search?text=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        #expect(!page.text.contains("<script>alert(1)</script>"))
        #expect(page.text.contains("&lt;script&gt;"))
    }

    @Test("/videos lists every video with duration, frames, model and a caption timeline")
    func videosPage() async throws {
        let server = try await TestServer.shared.value
        let page = try await server.http.request("GET", "/videos")
        #expect(page.status == 200)
        for name in ["plaza.mp4", "megamind.mp4"] { #expect(page.text.contains(name)) }
        #expect(page.text.contains(server.archive.modelIdentity))
        #expect(page.text.contains("class=\"timeline\"") && page.text.contains("class=\"segment\""))
        #expect(page.text.contains("<dt>Frames</dt>"))
    }

    @Test("static assets are served with their types; unknown names are 404")
    func assets() async throws {
        let server = try await TestServer.shared.value
        let js = try await server.http.request("GET", "/static/app.js")
        #expect(js.status == 200 && js.headers["content-type"]?.hasPrefix("text/javascript") == true)
        #expect(
            js.text.contains("IntersectionObserver") && !js.text.contains("http://") && !js.text.contains("https://"))
        let css = try await server.http.request("GET", "/static/style.css")
        #expect(css.status == 200 && css.headers["content-type"]?.hasPrefix("text/css") == true)
        #expect(try await server.http.request("GET", "/static/nope.js").status == 404)
    }

    @Test("/api/openapi.json is OpenAPI 3 and lists every route of the router with its method")
    func openAPI() async throws {
        let server = try await TestServer.shared.value
        let reply = try await server.http.request("GET", "/api/openapi.json")
        #expect(reply.status == 200)
        let document = try reply.json()
        #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let router = buildArchiveRouter(archive: server.archive, options: ServeOptions())
        let routes = router.routes.map { route in
            let path = route.path.description.split(separator: "/").map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }
            return ("/" + path.joined(separator: "/"), route.method.rawValue.lowercased())
        }
        #expect(routes.count >= 12)
        for (path, method) in routes {
            #expect(paths[path]?[method] != nil, "\(method.uppercased()) \(path) is missing from openapi.json")
        }
        // And nothing documented that the router does not serve.
        let served = Set(routes.map { "\($0.1) \($0.0)" })
        for (path, operations) in paths {
            for method in operations.keys { #expect(served.contains("\(method) \(path)"), "\(method) \(path)") }
        }
    }

    @Test("serve refuses a missing index, and --token with --token-file, with one line each")
    func refusals() async throws {
        let db = TestServer.model.deletingLastPathComponent().appendingPathComponent("none.sqlite")
        let model = TestServer.model.path
        let missing = try await blocking {
            try CLIRunner.run(["serve", "--db", db.path, "--model", model], timeout: 30)
        }
        #expect(missing.status != 0 && missing.stderr.contains("error:"))
        let both = try await blocking {
            try CLIRunner.run(["serve", "--db", db.path, "--token", "a", "--token-file", "b"], timeout: 30)
        }
        #expect(both.status != 0 && both.stderr.contains("--token or --token-file"))
    }

    @Test("serve on 0.0.0.0 without a token prints a warning, with one it does not")
    func exposed() async throws {
        let db = try await TestServer.sharedIndex.value
        let open = try await Self.serveOutput([
            "--db", db.path, "--listen", "0.0.0.0:0", "--model", TestServer.model.path,
        ])
        #expect(open.contains(" on http://0.0.0.0:"), "\(open)")
        #expect(open.contains("warning: listening on 0.0.0.0 without a token"))
        let tokenFile = db.deletingLastPathComponent().appendingPathComponent("token")
        try "file-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let closed = try await Self.serveOutput(
            [
                "--db", db.path, "--listen", "0.0.0.0:0", "--token-file", tokenFile.path, "--model",
                TestServer.model.path,
            ])
        #expect(closed.contains(" on http://0.0.0.0:") && !closed.contains("warning"), "\(closed)")
    }

    /// Runs `vlm-stream serve arguments...` until it prints that it is serving (or 30 s), stops it with SIGTERM,
    /// and returns its output.
    static func serveOutput(_ arguments: [String]) async throws -> String {
        try await blocking { try serveOutputBlocking(arguments) }
    }

    static func serveOutputBlocking(_ arguments: [String]) throws -> String {
        guard let executable = CLIRunner.executable else { throw POSIXError(.ENOENT) }
        let log = try Fixtures.temporaryDirectory("vlm-serve-cli").appendingPathComponent("out.txt")
        let child = try ChildProcess(executable.path, ["serve"] + arguments, output: log)
        var output = ""
        for _ in 0..<300 where !output.contains("serving") {
            usleep(100_000)
            output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        child.terminate()
        return (try? String(contentsOf: log, encoding: .utf8)) ?? output
    }
}
