/// A frame after the encoder: one embedding per view (`embeddings[0]` is the whole frame, the rest are tiles).
public struct EncodedFrame: Sendable {
    public var stream: String
    public var sequence: Int
    public var time: MediaTime
    /// One L2-normalised embedding per view, in the order of `boxes`.
    public var embeddings: [Embedding]
    /// The part of the frame each embedding shows; `boxes[0] == .full`.
    public var boxes: [Box]
    /// True when the scene-change gate judged the frame unchanged and the previous embeddings were reused.
    public var reused: Bool

    public init(
        stream: String, sequence: Int, time: MediaTime, embeddings: [Embedding], boxes: [Box], reused: Bool = false
    ) {
        self.stream = stream
        self.sequence = sequence
        self.time = time
        self.embeddings = embeddings
        self.boxes = boxes
        self.reused = reused
    }
}

/// A stage after the encoder (matching, labels, captions, indexing): sees every encoded frame of a stream in
/// presentation order and returns the results it produces. Called from one pipeline thread per stream.
public protocol FrameAnalyzer: AnyObject, Sendable {
    func analyze(_ frame: EncodedFrame) -> [StreamResult]
    /// The stream ended (EOF or shutdown) at `pts`: close open events, emit the last caption.
    func finish(stream: String, at pts: Double) -> [StreamResult]
}

/// The live query set of a running stream, changed by the CLI, a pipeline file, or MQTT control messages.
/// New queries take effect on the next frame; frames already encoded are not encoded again.
public protocol QueryControlling: AnyObject, Sendable {
    /// The active queries, in the order they were added.
    var activeQueries: [String] { get }
    func setQueries(_ queries: [String]) throws
    func addQueries(_ queries: [String]) throws
    func removeQueries(_ queries: [String])
    /// Adds (or replaces) one query made of example images, given as JPEG or PNG file bytes (an MQTT image query);
    /// averaged like `--query-image`. Throws a one-line error for a picture that cannot be decoded.
    func addImageQuery(label: String, images: [[UInt8]]) throws
    /// Adds (or replaces) a query tuned by `vlm-stream tune`, given as its file's JSON (an MQTT tuned query). Throws
    /// a one-line error for a file that is not one or was tuned for another model.
    func addTunedQuery(json: [UInt8]) throws
}

extension QueryControlling {
    /// Controllers that cannot embed pictures refuse image queries.
    public func addImageQuery(label: String, images: [[UInt8]]) throws {
        throw ImageQueriesUnsupported()
    }

    /// Controllers without the model refuse tuned queries.
    public func addTunedQuery(json: [UInt8]) throws {
        throw ImageQueriesUnsupported()
    }
}

/// An image query sent to a controller without an image encoder.
public struct ImageQueriesUnsupported: UserFacingError {
    public init() {}
    public var description: String { "this stream cannot embed images or load tuned queries; send text queries" }
}

/// Answers a one-off question about a running stream's latest frame (a robot asking over MQTT).
public protocol LatestFrameAnswering: AnyObject, Sendable {
    /// The answer about the latest frame of `stream` the answerer has seen, and that frame's time in seconds.
    /// Blocks while the model runs; throws when the stream has no frame yet or the question is refused.
    func answerLatest(_ question: String, stream: String) throws -> (pts: Double, answer: String)
}

/// The standing questions of a caption stage (`--ask`), changed while it runs (MQTT `questions/set|add|remove`).
public protocol QuestionControlling: AnyObject, Sendable {
    /// The standing questions, in the order they were asked.
    var activeQuestions: [String] { get }
    /// Replaces them; throws a one-line error for a question the model cannot take (nothing changes then).
    func setQuestions(_ questions: [String]) throws
}
