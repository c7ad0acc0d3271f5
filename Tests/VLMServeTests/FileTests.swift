import Foundation
import TestSupport
import Testing
import VLMServe

/// `/api/videos/{id}/file`: Range requests, and nothing but indexed files.
@Suite("video files")
struct FileTests {
    @Test("the whole file, a range, a suffix range and an open range; past the end is 416")
    func ranges() async throws {
        let server = try await TestServer.shared.value
        let id = try #require(try server.videoIDs()["plaza.mp4"])
        let bytes = Array(try Data(contentsOf: TestServer.videos[0]))
        let size = bytes.count
        let whole = try await server.http.request("GET", "/api/videos/\(id)/file")
        #expect(whole.status == 200 && whole.body == bytes)
        #expect(whole.headers["accept-ranges"] == "bytes" && whole.headers["content-type"] == "video/mp4")

        let first = try await server.http.request("GET", "/api/videos/\(id)/file", headers: ["Range": "bytes=0-99"])
        #expect(first.status == 206)
        #expect(first.headers["content-range"] == "bytes 0-99/\(size)")
        #expect(first.body == Array(bytes[0..<100]))

        let middle = try await server.http.request(
            "GET", "/api/videos/\(id)/file", headers: ["Range": "bytes=1000-1999"])
        #expect(middle.status == 206 && middle.body == Array(bytes[1000..<2000]))

        let suffix = try await server.http.request("GET", "/api/videos/\(id)/file", headers: ["Range": "bytes=-50"])
        #expect(suffix.status == 206 && suffix.body == Array(bytes[(size - 50)...]))
        #expect(suffix.headers["content-range"] == "bytes \(size - 50)-\(size - 1)/\(size)")

        let open = try await server.http.request(
            "GET", "/api/videos/\(id)/file", headers: ["Range": "bytes=\(size - 10)-"])
        #expect(open.status == 206 && open.body == Array(bytes[(size - 10)...]))

        let clamped = try await server.http.request(
            "GET", "/api/videos/\(id)/file", headers: ["Range": "bytes=\(size - 5)-\(size + 1000)"])
        #expect(clamped.status == 206 && clamped.body.count == 5)

        let past = try await server.http.request("GET", "/api/videos/\(id)/file", headers: ["Range": "bytes=\(size)-"])
        #expect(past.status == 416 && past.headers["content-range"] == "bytes */\(size)")
    }

    @Test(
        "traversal attempts never reach the filesystem",
        arguments: [
            "/api/videos/..%2F..%2F..%2Fetc%2Fpasswd/file", "/api/videos/%2e%2e/file", "/api/videos/../../etc/passwd",
            "/api/videos/1%2F..%2F..%2Fetc%2Fpasswd/file", "/api/videos/%252e%252e%252fetc%252fpasswd/file",
            "/api/videos/-1/file", "/api/videos/0x1/file", "/api/videos/1.0/file", "/api/videos/+1/file",
            "/api/thumbnail?video=..%2F..%2Fetc%2Fpasswd&t=1", "/api/thumbnail?video=%2Fetc%2Fpasswd&t=1",
            "/static/..%2F..%2F..%2Fetc%2Fpasswd", "/static/%2e%2e%2fPackage.swift", "/static/../Package.swift",
            "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
        ])
    func traversal(target: String) async throws {
        let server = try await TestServer.shared.value
        let reply = try await server.http.request("GET", target)
        #expect([400, 404].contains(reply.status), "\(target) → \(reply.status)")
        #expect(!reply.text.contains("root:"), "\(target) leaked /etc/passwd")
        #expect(!reply.text.contains("swift-tools-version"), "\(target) leaked a source file")
    }

    @Test("an indexed file later swapped for a symlink elsewhere, or changed, is not served")
    func symlinkSwap() async throws {
        let dir = try Fixtures.temporaryDirectory("vlm-serve-symlink")
        let clip = dir.appendingPathComponent("tree.mp4")
        try FileManager.default.copyItem(at: Fixtures.sampleVideo("static_tree.mp4"), to: clip)
        let db = try await TestServer.makeIndex([clip.path], in: dir)
        let server = try await TestServer.start(db: db)
        let id = try #require(try server.videoIDs()["tree.mp4"])
        #expect(try await server.http.request("GET", "/api/videos/\(id)/file").status == 200)

        // A symlink to a file of the same bytes is the indexed file still.
        let moved = dir.appendingPathComponent("moved.mp4")
        try FileManager.default.moveItem(at: clip, to: moved)
        try FileManager.default.createSymbolicLink(at: clip, withDestinationURL: moved)
        #expect(try await server.http.request("GET", "/api/videos/\(id)/file").status == 200)

        // A symlink to anything else is refused.
        try FileManager.default.removeItem(at: clip)
        try FileManager.default.createSymbolicLink(at: clip, withDestinationURL: URL(fileURLWithPath: "/etc/passwd"))
        let swapped = try await server.http.request("GET", "/api/videos/\(id)/file")
        #expect(swapped.status == 404 && !swapped.text.contains("root:"))
        try FileManager.default.removeItem(at: clip)
        try FileManager.default.createSymbolicLink(at: clip, withDestinationURL: dir)
        #expect(try await server.http.request("GET", "/api/videos/\(id)/file").status == 404)
        try FileManager.default.removeItem(at: clip)
        #expect(try await server.http.request("GET", "/api/videos/\(id)/file").status == 404)
    }
}
