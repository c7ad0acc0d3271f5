import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VLMCore

/// A real OpenAI-compatible chat-completions server on 127.0.0.1 (an ephemeral port, Hummingbird's HTTP/1.1
/// server) for the remote-VLM captioner's tests. It answers `POST /v1/chat/completions` as ``behaviour`` says,
/// records each request (model, text, image URL, Authorization header) and counts requests in progress.
public final class ChatCompletionsServer: Sendable {
    /// How the server answers.
    public enum Behaviour: Sendable, Equatable {
        /// A chat completion: `caption` for the caption prompt, `answer` for anything else (a question).
        case reply(caption: String, answer: String)
        /// Waits this many seconds, then replies as `.reply`.
        case sleep(Double)
        /// Holds every request until ``release()``, then replies as `.reply`.
        case held
        /// 200 with a body that is not a chat completion.
        case garbage
        /// This status with a short body.
        case status(Int)
    }

    /// One request as received.
    public struct Recorded: Sendable {
        public var model: String?
        public var text: String?
        public var imageURL: String?
        public var authorization: String?
        public var maxTokens: Int?
    }

    public let port: Int
    private let behaviour: Locked<Behaviour>
    private let log: Locked<[Recorded]>
    private let inFlight: Locked<(now: Int, peak: Int)>
    private let released: Locked<Bool>
    private let group: ServiceGroup

    /// The base URL (`http://127.0.0.1:PORT/v1`), as `--caption-endpoint` takes it.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// Requests received so far.
    public var requests: [Recorded] { log.current }
    /// The most requests that were in progress at once.
    public var peakInFlight: Int { inFlight.current.peak }

    /// Starts a server and waits until it listens.
    public static func start(_ behaviour: Behaviour) async throws -> ChatCompletionsServer {
        let state = Locked(behaviour)
        let log = Locked([Recorded]())
        let inFlight = Locked((now: 0, peak: 0))
        let released = Locked(false)
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            inFlight.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
            }
            defer { inFlight.withLock { $0.now -= 1 } }
            let body = try await request.body.collect(upTo: 32 << 20)
            var recorded = Recorded(authorization: request.headers[.authorization])
            let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            recorded.model = json?["model"] as? String
            recorded.maxTokens = json?["max_tokens"] as? Int
            let messages = json?["messages"] as? [[String: Any]]
            for part in messages?.first?["content"] as? [[String: Any]] ?? [] {
                if part["type"] as? String == "text" { recorded.text = part["text"] as? String }
                if part["type"] as? String == "image_url" {
                    recorded.imageURL = (part["image_url"] as? [String: Any])?["url"] as? String
                }
            }
            log.withLock { $0.append(recorded) }
            var current = state.current
            if case .sleep(let seconds) = current {
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                current = .reply(caption: "a slow caption", answer: "slow")
            }
            if current == .held {
                while !released.current { try await Task.sleep(for: .milliseconds(20)) }
                current = .reply(caption: "a held caption", answer: "held")
            }
            switch current {
            case .reply(let caption, let answer):
                let text = (recorded.text ?? "").hasPrefix("Describe") ? caption : answer
                let reply: [String: Any] = [
                    "id": "test", "object": "chat.completion",
                    "choices": [["index": 0, "message": ["role": "assistant", "content": text]]],
                ]
                return Self.response(.ok, try JSONSerialization.data(withJSONObject: reply), type: "application/json")
            case .garbage:
                return Self.response(.ok, Data("<html>not a chat completion</html>".utf8), type: "text/html")
            case .status(let code):
                return Self.response(
                    .init(code: code), Data("{\"error\":\"overloaded\"}".utf8), type: "application/json")
            case .sleep, .held:
                return Self.response(.internalServerError, Data(), type: "text/plain")
            }
        }
        var logger = Logger(label: "test.chat-completions")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        return ChatCompletionsServer(
            port: port, behaviour: state, log: log, inFlight: inFlight, released: released, group: group)
    }

    private init(
        port: Int, behaviour: Locked<Behaviour>, log: Locked<[Recorded]>, inFlight: Locked<(now: Int, peak: Int)>,
        released: Locked<Bool>, group: ServiceGroup
    ) {
        self.released = released
        self.port = port
        self.behaviour = behaviour
        self.log = log
        self.inFlight = inFlight
        self.group = group
    }

    /// Changes how later requests are answered.
    public func set(_ behaviour: Behaviour) { self.behaviour.withLock { $0 = behaviour } }

    /// Lets held requests (`.held`) answer.
    public func release() { released.withLock { $0 = true } }

    /// Requests in progress now.
    public var requestsInProgress: Int { inFlight.current.now }

    /// Stops the server gracefully, in the background (held requests are released first): it stops accepting, lets
    /// the requests in progress answer, then closes. Not by cancelling its task: a connection accepted just then is
    /// never handed to Hummingbird, and NIO traps when it is dropped ("Deinited NIOAsyncWriter without calling
    /// finish()", swift-nio issue 3481); that took the whole test process down while a CLI child still connected.
    public func stop() {
        release()
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
    }

    private static func response(_ status: HTTPResponse.Status, _ body: Data, type: String) -> Response {
        Response(
            status: status, headers: [.contentType: type],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Runs blocking work (a synchronous HTTP exchange, a child process) on a serial Dispatch queue of its own (its own
/// thread), so a test never holds one of Swift concurrency's few cooperative threads, nor one of Dispatch's global
/// ones, while a server in the same process needs them.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue(label: "test.off-pool").async { continuation.resume(with: Result { try body() }) }
    }
}
