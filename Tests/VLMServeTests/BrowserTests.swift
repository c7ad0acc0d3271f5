import Foundation
import TestSupport
import Testing
import VLMServe

/// Debian's `chromium`, when installed (scripts/install-deps installs it).
let chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// A real browser against the real server: headless Chromium loads the search page, runs its module script and
/// fetches the thumbnails; the dumped DOM and a screenshot are the evidence.
@Suite("browser", .serialized, .enabled(if: chromiumPath != nil, "needs Debian's chromium (scripts/install-deps)"))
struct BrowserTests {
    /// Where screenshots are kept after the run.
    static let artifacts = Fixtures.root.appendingPathComponent(".build/test-artifacts")

    /// Runs headless Chromium with `arguments` and returns what it wrote (stdout and stderr together).
    static func chromium(_ arguments: [String]) throws -> String {
        guard let executable = chromiumPath else { throw POSIXError(.ENOENT) }
        let profile = try Fixtures.temporaryDirectory("vlm-chromium")
        let log = profile.appendingPathComponent("out.txt")
        let child = try ChildProcess(
            executable,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.path)", "--window-size=1280,1000", "--virtual-time-budget=8000",
            ] + arguments, output: log)
        // Longer than the test server's 120 s request timeout: a page that is slow because the suite starves the
        // server still renders, or shows the server's 503.
        if child.wait(timeout: 150) == nil { child.terminate() }
        return (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }

    @Test("a text search shows result cards whose thumbnails load; screenshot saved")
    func searchShowsCards() async throws {
        let server = try await TestServer.shared.value
        let url = "http://127.0.0.1:\(server.port)/search?text=a%20person%20walking"
        let output = try await blocking { try Self.chromium(["--dump-dom", url]) }
        let start = try #require(output.range(of: "<html"), "no DOM in chromium's output: \(output.suffix(2000))")
        let dom = String(output[start.lowerBound...])
        let cards = dom.components(separatedBy: "<article class=\"card\"").count - 1
        #expect(cards >= 3, "cards: \(cards)")
        let images = dom.components(separatedBy: "src=\"/api/thumbnail?video=").count - 1
        let loaded = dom.components(separatedBy: "data-loaded=\"1\"").count - 1
        #expect(images == cards && loaded == images, "\(loaded) of \(images) thumbnails loaded")
        #expect(!dom.contains("data-loaded=\"error\""))

        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("search.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await blocking { try Self.chromium(["--screenshot=\(screenshot.path)", url]) }
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)
        print("search page screenshot: \(screenshot.path)")
    }

    @Test("the videos page renders in a browser; screenshot saved")
    func videosPage() async throws {
        let server = try await TestServer.shared.value
        let url = "http://127.0.0.1:\(server.port)/videos"
        let output = try await blocking { try Self.chromium(["--dump-dom", url]) }
        #expect(output.contains("megamind.mp4") && output.contains("class=\"segment\""))
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("videos.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await blocking { try Self.chromium(["--screenshot=\(screenshot.path)", url]) }
        #expect(try Data(contentsOf: screenshot).count > 20_000)
        print("videos page screenshot: \(screenshot.path)")
    }
}
