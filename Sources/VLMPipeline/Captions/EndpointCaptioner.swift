import Foundation
import Logging
import VLMCaption
import VLMCore
import VLMVideo

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A remote vision-language model as the stream captioner: each caption or answer is one POST to an
/// OpenAI-compatible chat-completions endpoint (ollama, llama.cpp's server, vLLM) with the frame as a base64 JPEG
/// `image_url` part. Each request has a deadline (`timeout`); timeouts, broken connections, 429 and 5xx are tried
/// again after 0.5 s, 1 s, 2 s, … (at most `attempts` requests); at most `maxInFlight` requests are in progress at
/// once (the `BackgroundCaptioner` it runs in makes later triggers wait and coalesce). A caption or answer that
/// still fails throws one ``EndpointError`` line naming the endpoint; the stream goes on without it.
public final class EndpointCaptioner: ImageCaptioner {
    /// What the model is asked for a caption.
    public static let captionPrompt = "Describe this image in one short sentence."
    /// Added after each question, so answers stay short enough to compare between triggers.
    public static let answerSuffix = " Answer in a few words."
    /// Frames are squeezed (not cropped) to this square before JPEG encoding: the whole view reaches the model.
    public static let imageSide = 448

    public let options: EndpointOptions
    /// Most tokens per caption or answer (`max_tokens` in the request; nil: the server's default).
    public let maxTokens: Int?
    /// The chat-completions URL requests go to.
    public let url: URL
    let apiKey: String?
    /// Seconds before the first retry; it doubles with each one.
    let backoff: Double
    private let session: URLSession
    private let inFlight = Locked((now: 0, peak: 0))

    /// `apiKey` is sent as `Authorization: Bearer …` when given (read it with ``EndpointOptions/apiKey(environment:)``).
    public init(options: EndpointOptions, apiKey: String?, maxTokens: Int? = nil, backoff: Double = 0.5) throws {
        try options.validate()
        guard let url = options.chatCompletionsURL else {
            throw CaptionError.invalidOption("caption endpoint \(EndpointOptions.redact(options.url)) is not a URL")
        }
        self.options = options
        self.url = url
        self.apiKey = apiKey
        self.maxTokens = maxTokens
        self.backoff = backoff
        // The deadline is ``exchange``'s own: FoundationNetworking on Linux ends sub-second timeouts at once, so its
        // timeouts are only a backstop past ours.
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = options.timeout + 5
        configuration.timeoutIntervalForResource = options.timeout + 5
        configuration.httpMaximumConnectionsPerHost = options.maxInFlight
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    /// Requests in progress now, and the most there ever were at once (for tests and logs).
    public var requestsInFlight: (now: Int, peak: Int) { inFlight.current }

    // MARK: - ImageCaptioner

    public var framesPerCaption: Int { 1 }
    public var preprocessing: ImagePreprocessing {
        ImagePreprocessing(
            size: .exact(height: Self.imageSide, width: Self.imageSide), cropHeight: Self.imageSide,
            cropWidth: Self.imageSide, doCenterCrop: false)
    }

    public func caption(_ images: [RGBImage]) throws -> String {
        try complete(prompt: Self.captionPrompt, images: images)
    }

    public func answer(_ question: String, images: [RGBImage]) throws -> String {
        try complete(prompt: question + Self.answerSuffix, images: images)
    }

    // MARK: - Requests

    /// The request body for `prompt` about the last of `images` (JPEG-encoded with FFmpeg's mjpeg encoder).
    func body(prompt: String, images: [RGBImage]) throws -> Data {
        let jpegs = try images.suffix(framesPerCaption).map { try JPEGEncoder.encode($0) }
        let request = ChatCompletionRequest(model: options.model, prompt: prompt, jpegs: jpegs, maxTokens: maxTokens)
        return try JSONEncoder().encode(request)
    }

    /// Posts `prompt` and `images`, trying again after retryable failures; the first choice's text.
    func complete(prompt: String, images: [RGBImage]) throws -> String {
        let body = try body(prompt: prompt, images: images)
        var attempt = 1
        while true {
            let failure: EndpointFailure
            switch exchange(body) {
            case .success(let text): return text
            case .failure(let error): failure = error
            }
            guard failure.retryable, attempt < options.attempts else {
                let tries = attempt == 1 ? "" : " (\(attempt) attempts)"
                throw EndpointError(endpoint: options.redactedURL, reason: failure.reason + tries)
            }
            Thread.sleep(forTimeInterval: min(backoff * Double(1 << (attempt - 1)), 30))
            attempt += 1
        }
    }

    /// One POST with a hard deadline: the task is cancelled when `timeout` passes, whatever the server does.
    func exchange(_ body: Data) -> Result<String, EndpointFailure> {
        var request = URLRequest(
            url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: options.timeout + 5)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }

        inFlight.withLock {
            $0.now += 1
            $0.peak = max($0.peak, $0.now)
        }
        defer { inFlight.withLock { $0.now -= 1 } }
        let outcome = Locked<Result<String, EndpointFailure>?>(nil)
        let timeout = options.timeout
        // The handler must not hold `self`: the last reference released on the session's queue would invalidate
        // the session from inside its own callback.
        let task = session.dataTask(with: request) { data, response, error in
            let result: Result<String, EndpointFailure>
            if let error {
                let timedOut = (error as? URLError)?.code == .timedOut
                result = .failure(timedOut ? .timedOut(timeout) : .transport(error.localizedDescription))
            } else if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                result = .failure(.status(http.statusCode, EndpointFailure.excerpt(data ?? Data())))
            } else if let text = ChatCompletionResponse.text(of: data ?? Data()) {
                result = .success(text)
            } else {
                result = .failure(.garbage(EndpointFailure.excerpt(data ?? Data())))
            }
            outcome.update { if $0 == nil { $0 = result } }
        }
        task.resume()
        let deadline = Date().addingTimeInterval(options.timeout)
        let result = outcome.wait(until: deadline, for: { $0 != nil }, then: { value, _ in value })
        guard let result else {
            task.cancel()
            return .failure(.timedOut(options.timeout))
        }
        return result
    }
}
