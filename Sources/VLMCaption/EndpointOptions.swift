import Foundation

/// A remote vision-language model behind an OpenAI-compatible chat-completions endpoint (ollama, llama.cpp's
/// server, vLLM) that writes the captions and answers (`--caption-endpoint`, `captions.endpoint`). The API key is
/// never part of the options: it is read from the environment variable `keyVariable` when the stage starts.
public struct EndpointOptions: Sendable, Equatable {
    /// The environment variable read for the API key unless `keyVariable` names another.
    public static let defaultKeyVariable = "VLM_STREAM_API_KEY"

    /// The base URL (`http://127.0.0.1:11434/v1`) or the full chat-completions URL; see ``chatCompletionsURL``.
    public var url: String
    /// The model name sent in each request (`--caption-endpoint-model`, `endpoint_model`).
    public var model: String
    /// The environment variable holding the API key (sent as `Authorization: Bearer KEY`); nil reads
    /// ``defaultKeyVariable`` and sends no key when it is unset.
    public var keyVariable: String?
    /// Seconds one request may take, connecting included.
    public var timeout: Double = 30
    /// Requests per caption or answer before it is given up (the first and its retries).
    public var attempts: Int = 3
    /// Requests to the endpoint in progress at once, over all streams; more triggers wait and coalesce.
    public var maxInFlight: Int = 2

    public init(url: String, model: String) {
        self.url = url
        self.model = model
    }

    /// `url` when its path already ends in `/chat/completions`, else `url` + `/chat/completions` (so the base URL
    /// `http://host:11434/v1` posts to `http://host:11434/v1/chat/completions`). Nil when `url` is not an http(s)
    /// URL with a host.
    public var chatCompletionsURL: URL? {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        if !components.path.hasSuffix("/chat/completions") {
            components.path =
                (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path)
                + "/chat/completions"
        }
        return components.url
    }

    /// The chat-completions URL with any user and password in it masked, for logs, errors and `--print-pipeline`.
    public var redactedURL: String { Self.redact(chatCompletionsURL?.absoluteString ?? url) }

    /// `url` with its password (and user) replaced by `***`.
    public static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.user != nil || components.password != nil
        else { return url }
        components.user = "***"
        components.password = nil
        return components.string ?? "***"
    }

    /// Checks the settings; the message names the setting and a sensible value.
    public func validate() throws {
        func bad(_ detail: String) -> CaptionError { .invalidOption(detail) }
        guard chatCompletionsURL != nil else {
            throw bad(
                "caption endpoint \(Self.redact(url)) is not an http(s) URL with a host "
                    + "(try http://127.0.0.1:11434/v1)")
        }
        guard !model.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw bad("a caption endpoint needs a model name (--caption-endpoint-model, captions.endpoint_model)")
        }
        if let keyVariable, keyVariable.isEmpty || keyVariable.contains("=") {
            throw bad("the caption endpoint key variable must be an environment variable name (try VLM_STREAM_API_KEY)")
        }
        guard timeout > 0, timeout <= 3600 else {
            throw bad("caption endpoint timeout must be positive seconds, at most 3600 (try 30)")
        }
        guard (1...10).contains(attempts) else { throw bad("caption endpoint attempts must be 1...10 (try 3)") }
        guard (1...64).contains(maxInFlight) else {
            throw bad("caption endpoint max in flight must be 1...64 (try 2)")
        }
    }

    /// The API key from the environment: nil when the default variable is unset or empty; an error naming the
    /// variable when an explicitly named one is.
    public func apiKey(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        let name = keyVariable ?? Self.defaultKeyVariable
        let value = environment[name].flatMap { $0.isEmpty ? nil : $0 }
        if value == nil, keyVariable != nil {
            throw CaptionError.invalidOption(
                "the caption endpoint key variable \(name) is not set; export \(name)=KEY or drop "
                    + "--caption-endpoint-key-env (captions.endpoint_key_env)")
        }
        return value
    }
}
