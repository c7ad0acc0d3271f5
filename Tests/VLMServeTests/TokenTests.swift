import Foundation
import TestSupport
import Testing
import VLMServe

/// `--token`: bearer header or login cookie, compared in constant time.
@Suite("token")
struct TokenTests {
    static let token = "s3cret-token-for-tests"

    @Test("401 without the token, 200 with the bearer header or the /login cookie")
    func token() async throws {
        let db = try await TestServer.sharedIndex.value
        let server = try await TestServer.start(db: db) { $0.token = Self.token }
        for target in ["/api/videos", "/search", "/api/openapi.json", "/static/app.js", "/api/search?text=a"] {
            let reply = try await server.http.request("GET", target)
            #expect(reply.status == 401, "\(target)")
            #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        }
        let wrong = try await server.http.request("GET", "/api/videos", headers: ["Authorization": "Bearer s3cret"])
        #expect(wrong.status == 401)
        let longer = try await server.http.request(
            "GET", "/api/videos", headers: ["Authorization": "Bearer \(Self.token)x"])
        #expect(longer.status == 401)
        let right = try await server.http.request(
            "GET", "/api/videos", headers: ["Authorization": "Bearer \(Self.token)"])
        #expect(right.status == 200)

        #expect(try await server.http.request("GET", "/login?token=nope").status == 401)
        let login = try await server.http.request("GET", "/login?token=\(Self.token)")
        #expect(login.status == 303 && login.headers["location"] == "/search")
        let cookie = try #require(login.headers["set-cookie"])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let pair = String(cookie.split(separator: ";")[0])
        let page = try await server.http.request("GET", "/search", headers: ["Cookie": pair])
        #expect(page.status == 200 && page.text.contains("<form id=\"search-form\""))
        let forged = try await server.http.request("GET", "/search", headers: ["Cookie": "vlm_token=guess"])
        #expect(forged.status == 401)
    }

    @Test("ConstantTime.equal compares whole strings, examining every byte")
    func constantTime() {
        #expect(ConstantTime.equal("abc", "abc"))
        #expect(ConstantTime.equal("", ""))
        #expect(!ConstantTime.equal("abc", "abd"))
        #expect(!ConstantTime.equal("abc", "abcd"))
        #expect(!ConstantTime.equal("abcd", "abc"))
        #expect(!ConstantTime.equal("", "a"))
        // Lengths that differ by a multiple of 256 must not wrap to "equal".
        #expect(!ConstantTime.equal(String(repeating: "a", count: 256), ""))
        #expect(!ConstantTime.equal("ä", "a\u{0308}"))
    }
}
