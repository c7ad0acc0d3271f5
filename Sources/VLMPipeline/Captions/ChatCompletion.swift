import Foundation
import VLMCore

/// The slice of OpenAI's chat-completions protocol that ollama, llama.cpp's server and vLLM all speak: one user
/// message holding a text part and the frame as an `image_url` part (a `data:image/jpeg;base64,` URL).
struct ChatCompletionRequest: Encodable, Sendable {
    struct Message: Encodable, Sendable {
        var role: String
        var content: [Part]
    }

    /// `{"type": "text", "text": …}` or `{"type": "image_url", "image_url": {"url": …}}`.
    enum Part: Encodable, Sendable {
        case text(String)
        case imageURL(String)

        enum CodingKeys: String, CodingKey {
            case type, text
            case imageURL = "image_url"
        }

        struct ImageURL: Encodable {
            var url: String
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .text(let text):
                try c.encode("text", forKey: .type)
                try c.encode(text, forKey: .text)
            case .imageURL(let url):
                try c.encode("image_url", forKey: .type)
                try c.encode(ImageURL(url: url), forKey: .imageURL)
            }
        }
    }

    var model: String
    var messages: [Message]
    /// Greedy-like answers: the same frame gives the same caption, so "answer changed" means the scene did.
    var temperature: Double = 0
    var stream = false
    var maxTokens: Int?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, stream
        case maxTokens = "max_tokens"
    }

    /// A request for `prompt` about `jpegs` (oldest first).
    init(model: String, prompt: String, jpegs: [Data], maxTokens: Int?) {
        self.model = model
        let images = jpegs.map { Part.imageURL("data:image/jpeg;base64," + $0.base64EncodedString()) }
        messages = [Message(role: "user", content: [.text(prompt)] + images)]
        self.maxTokens = maxTokens
    }
}

/// What a chat-completions answer must hold: `choices[0].message.content`, a string (or a list of text parts, as
/// some servers send).
struct ChatCompletionResponse: Decodable {
    struct Choice: Decodable {
        var message: Message
    }

    struct Message: Decodable {
        var content: Content
    }

    enum Content: Decodable {
        case text(String)
        case parts([Part])

        struct Part: Decodable {
            var text: String?
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let text = try? c.decode(String.self) {
                self = .text(text)
            } else {
                self = .parts(try c.decode([Part].self))
            }
        }

        var text: String {
            switch self {
            case .text(let text): text
            case .parts(let parts): parts.compactMap(\.text).joined()
            }
        }
    }

    var choices: [Choice]

    /// The first choice's text, trimmed; nil when the body is not a chat completion or the text is empty.
    static func text(of body: Data) -> String? {
        guard let response = try? JSONDecoder().decode(ChatCompletionResponse.self, from: body),
            let text = response.choices.first?.message.content.text.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        else { return nil }
        return text
    }
}

/// Why a caption or answer from the endpoint failed: one line that names the endpoint (its password masked).
public struct EndpointError: UserFacingError, Equatable {
    /// The endpoint, redacted.
    public var endpoint: String
    /// What went wrong, after how many attempts.
    public var reason: String

    public var description: String { "caption endpoint \(endpoint): \(reason)" }
}

/// One failed exchange, and whether trying again may help.
enum EndpointFailure: Error {
    /// No answer within the timeout.
    case timedOut(Double)
    /// No connection, or it broke.
    case transport(String)
    /// A status other than 200, with the start of the body.
    case status(Int, String)
    /// A 200 whose body is not a chat completion with text.
    case garbage(String)

    var retryable: Bool {
        switch self {
        case .timedOut, .transport: true
        case .status(let code, _): code == 429 || code >= 500
        case .garbage: false
        }
    }

    var reason: String {
        switch self {
        case .timedOut(let seconds): "no answer within \(String(format: "%g", seconds)) s"
        case .transport(let detail): "cannot connect (\(detail))"
        case .status(let code, let body): "HTTP \(code)" + (body.isEmpty ? "" : ": \(body)")
        case .garbage(let body):
            "the answer is not a chat completion with text in choices[0].message.content"
                + (body.isEmpty ? " (empty body)" : ": \(body)")
        }
    }

    /// The first 80 characters of `body` on one line, for error messages.
    static func excerpt(_ body: Data) -> String {
        let text = String(decoding: body.prefix(400), as: UTF8.self)
            .components(separatedBy: .newlines).joined(separator: " ")
        return text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}
