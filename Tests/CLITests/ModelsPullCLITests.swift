import Foundation
import TestSupport
import Testing

/// `vlm-stream models pull` end to end: a loopback server answering like the hub, a fresh HF_HUB_CACHE, then the
/// pulled model used by hub name.
@Suite struct ModelsPullCLITests {
    static let files = ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"]

    static func sha256(_ url: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", url.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }

    @Test func pullThenUseByHubName() throws {
        let name = "openai/clip-vit-base-patch32"
        let commit = String(repeating: "c0ffee", count: 7).prefix(40)
        let server = try LoopbackHTTPServer(routes: [:])
        defer { server.stop() }
        for (i, file) in Self.files.enumerated() {
            let url = Fixtures.url("tiny-clip/\(file)")
            let body = try Data(contentsOf: url)
            if file == "model.safetensors" {
                let sha = try Self.sha256(url)
                server.setRoute(
                    "/\(name)/resolve/main/\(file)",
                    .init(
                        status: 302,
                        headers: [
                            "X-Repo-Commit": String(commit), "X-Linked-Etag": "\"\(sha)\"",
                            "X-Linked-Size": "\(body.count)", "Location": "\(server.baseURL.absoluteString)/lfs/\(sha)",
                        ]))
                server.setRoute("/lfs/\(sha)", .init(body: body))
            } else {
                server.setRoute(
                    "/\(name)/resolve/main/\(file)",
                    .init(headers: ["X-Repo-Commit": String(commit), "ETag": "\"etag\(i)\""], body: body))
            }
        }
        let cache = try Fixtures.temporaryDirectory("cli-pull")
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": server.baseURL.absoluteString]

        let pull = try CLIRunner.run(["models", "pull", name], environment: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stdout.contains("snapshots/\(commit)"))

        let list = try CLIRunner.run(["models", "list"], environment: env)
        #expect(list.stdout.contains("\(name)  main") && list.stdout.contains("complete"), "\(list.stdout)")

        let byName = try CLIRunner.run(["embed", "text", "a photo of a cat"], environment: env)
        let byDirectory = try CLIRunner.run([
            "embed", "text", "a photo of a cat", "--model", "Tests/Fixtures/tiny-clip",
        ])
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect(!byName.stdout.isEmpty && byName.stdout == byDirectory.stdout)
    }
}
