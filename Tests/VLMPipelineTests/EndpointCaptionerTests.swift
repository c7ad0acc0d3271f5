import Foundation
import TestSupport
import Testing
import VLMCaption
import VLMCore
import VLMVideo

@testable import VLMPipeline

/// The remote-VLM captioner against a real chat-completions server on a loopback port.
@Suite struct EndpointCaptionerTests {
    /// A 448×448 frame, red on the left half and blue on the right.
    static let frame: RGBImage = {
        var pixels = [UInt8](repeating: 0, count: 448 * 448 * 3)
        for y in 0..<448 {
            for x in 0..<448 { pixels[(y * 448 + x) * 3 + (x < 224 ? 0 : 2)] = 220 }
        }
        return RGBImage(width: 448, height: 448, pixels: pixels)
    }()

    static func options(_ server: ChatCompletionsServer, _ configure: (inout EndpointOptions) -> Void = { _ in })
        -> EndpointOptions
    {
        var options = EndpointOptions(url: server.baseURL, model: "test-vlm:7b")
        configure(&options)
        return options
    }

    @Test func theRequestCarriesTheModelTheFrameAsJPEGAndTheKey() async throws {
        let server = try await ChatCompletionsServer.start(.reply(caption: "a red and blue square", answer: "yes"))
        defer { server.stop() }
        // One attempt with a long deadline: this test is about what a request carries, and on a loaded machine a
        // reply slower than the default 30 s would otherwise be retried (a third request).
        let options = Self.options(server) {
            $0.timeout = 600
            $0.attempts = 1
        }
        let key = try options.apiKey(environment: ["VLM_STREAM_API_KEY": "sk-test-123"])
        let captioner = try EndpointCaptioner(options: options, apiKey: key, maxTokens: 12)
        #expect(captioner.url.absoluteString == "\(server.baseURL)/chat/completions")
        #expect(try await offPool { try captioner.caption([Self.frame]) } == "a red and blue square")
        #expect(try await offPool { try captioner.answer("is it red?", images: [Self.frame]) } == "yes")

        let requests = server.requests
        try #require(requests.count == 2)
        for request in requests {
            #expect(request.model == "test-vlm:7b")
            #expect(request.authorization == "Bearer sk-test-123")
            #expect(request.maxTokens == 12)
        }
        #expect(requests[0].text == EndpointCaptioner.captionPrompt)
        #expect(requests[1].text?.hasPrefix("is it red?") == true)

        // The image part is a base64 JPEG of the frame: decode it and look at both halves.
        let url = try #require(requests[0].imageURL)
        let prefix = "data:image/jpeg;base64,"
        #expect(url.hasPrefix(prefix))
        let jpeg = try #require(Data(base64Encoded: String(url.dropFirst(prefix.count))))
        #expect(Array(jpeg.prefix(3)) == [0xFF, 0xD8, 0xFF])
        let file = try Fixtures.temporaryDirectory("vlm-endpoint-jpeg").appendingPathComponent("frame.jpg")
        try jpeg.write(to: file)
        let decoded = try ImageFile.decode(file)
        #expect(decoded.width == 448 && decoded.height == 448)
        func pixel(_ x: Int, _ y: Int) -> [Int] { (0..<3).map { Int(decoded.pixels[(y * 448 + x) * 3 + $0]) } }
        let left = pixel(100, 224)
        let right = pixel(350, 224)
        #expect(left[0] > 180 && left[2] < 40, "left half \(left)")
        #expect(right[2] > 180 && right[0] < 40, "right half \(right)")
    }

    @Test func theKeyComesFromTheNamedVariable() throws {
        var options = EndpointOptions(url: "http://127.0.0.1:9/v1", model: "m")
        #expect(try options.apiKey(environment: [:]) == nil)
        #expect(try options.apiKey(environment: ["VLM_STREAM_API_KEY": ""]) == nil)
        options.keyVariable = "MY_VLM_KEY"
        #expect(try options.apiKey(environment: ["MY_VLM_KEY": "k1", "VLM_STREAM_API_KEY": "k2"]) == "k1")
        let error = #expect(throws: CaptionError.self) { try options.apiKey(environment: [:]) }
        #expect(error.map { "\($0)".contains("MY_VLM_KEY is not set") } == true)
    }

    @Test func urlsAreCompletedAndPasswordsMasked() throws {
        func url(_ s: String) -> String? { EndpointOptions(url: s, model: "m").chatCompletionsURL?.absoluteString }
        #expect(url("http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434/v1/chat/completions")
        #expect(url("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434/v1/chat/completions")
        #expect(url("https://vlm.example/v1/chat/completions") == "https://vlm.example/v1/chat/completions")
        #expect(url("ftp://host/v1") == nil)
        #expect(url("127.0.0.1:8000") == nil)
        let secret = EndpointOptions(url: "http://bob:hunter2@vlm.local:8000/v1", model: "m")
        #expect(!secret.redactedURL.contains("hunter2") && !secret.redactedURL.contains("bob"))
        #expect(secret.redactedURL.hasSuffix("vlm.local:8000/v1/chat/completions"))
        #expect(throws: CaptionError.self) { try EndpointOptions(url: "http://h/v1", model: " ").validate() }
        var bad = EndpointOptions(url: "http://h/v1", model: "m")
        bad.maxInFlight = 0
        #expect(throws: CaptionError.self) { try bad.validate() }
    }

    @Test func aSlowServerTimesOutWithOneLineNamingTheEndpoint() async throws {
        let server = try await ChatCompletionsServer.start(.held)
        defer { server.stop() }
        let captioner = try EndpointCaptioner(
            options: Self.options(server) {
                $0.timeout = 0.4
                $0.attempts = 2
            }, apiKey: nil, backoff: 0.05)
        let start = Date()
        let error = await #expect(throws: EndpointError.self) {
            try await offPool { try captioner.caption([Self.frame]) }
        }
        let line = "\(error.map(String.init(describing:)) ?? "")"
        #expect(line == "caption endpoint \(server.baseURL)/chat/completions: no answer within 0.4 s (2 attempts)")
        #expect(!line.contains("\n"))
        // Two attempts of 0.4 s each (the deadline is the timeout, not sooner) and one backoff, while the server
        // never answers.
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.8, "\(elapsed) s")
        // (On a busy machine the server may not have read a request before the client gave up on it.)
        #expect(server.requests.count <= 2)
        #expect(server.requests.allSatisfy { $0.authorization == nil })
    }

    @Test func garbageIsNotRetriedAndServerErrorsAre() async throws {
        let server = try await ChatCompletionsServer.start(.garbage)
        defer { server.stop() }
        // A long deadline: the request counts below are about which answers are retried, and on a loaded machine a
        // reply slower than the default 30 s would be retried as a timeout.
        let options = Self.options(server) { $0.timeout = 600 }
        let captioner = try EndpointCaptioner(options: options, apiKey: nil, backoff: 0.01)
        let garbage = await #expect(throws: EndpointError.self) {
            try await offPool { try captioner.caption([Self.frame]) }
        }
        #expect(garbage?.endpoint == "\(server.baseURL)/chat/completions")
        #expect(garbage?.reason.contains("not a chat completion") == true)
        #expect(garbage?.reason.contains("<html>") == true)
        #expect(server.requests.count == 1)

        server.set(.status(503))
        let unavailable = await #expect(throws: EndpointError.self) {
            try await offPool { try captioner.answer("is it?", images: [Self.frame]) }
        }
        #expect(unavailable?.reason.hasPrefix("HTTP 503") == true)
        #expect(unavailable?.reason.hasSuffix("(3 attempts)") == true)
        #expect(server.requests.count == 4)

        server.set(.status(401))
        let refused = await #expect(throws: EndpointError.self) {
            try await offPool { try captioner.caption([Self.frame]) }
        }
        #expect(refused?.reason.hasPrefix("HTTP 401") == true)
        #expect(server.requests.count == 5)

        // Nothing listens on the port any more: a broken connection is one line too.
        server.stop()
        try await Task.sleep(for: .milliseconds(200))
        let closed = try EndpointCaptioner(
            options: Self.options(server) { $0.attempts = 1 }, apiKey: nil, backoff: 0.01)
        let dead = await #expect(throws: EndpointError.self) {
            try await offPool { try closed.caption([Self.frame]) }
        }
        #expect(dead?.description.hasPrefix("caption endpoint \(server.baseURL)/chat/completions: ") == true)
    }
}
