import Foundation

/// A query-control message from `<prefix>/<stream>/queries/set|add|remove`, validated strictly.
///
/// Accepted payloads (see `Configs/schemas/control.json`): a JSON object with exactly one key, `queries`, an array of
/// strings; or, on `queries/add` only, an image query `{"label": "...", "images": ["<base64 JPEG or PNG>", ...]}`
/// (several images of one thing are averaged into one query named `label`). Limits are checked on the raw bytes
/// before any JSON parsing: size (`maxPayloadBytes`, or `maxImagePayloadBytes` on `add`), UTF-8, nesting depth;
/// then the decoded document must match the schema exactly (unknown fields are refused), each image must be
/// valid base64 and start like a JPEG or PNG file. Decoding the picture is the controller's job.
public struct ControlRequest: Sendable, Equatable {
    /// What to do with the queries.
    public enum Action: String, Sendable, CaseIterable {
        case set, add, remove
    }

    /// Bounds a control payload must stay within.
    public struct Limits: Sendable {
        /// Largest payload accepted, checked before parsing.
        public var maxPayloadBytes = 8192
        /// Largest image-query payload (`queries/add` with `images`), checked before parsing: 1 MiB.
        public var maxImagePayloadBytes = 1 << 20
        /// Most images in one image query.
        public var maxImages = 4
        /// Largest picture, in pixels, by its PNG or JPEG header: 4096 × 4096.
        public var maxImagePixels = 4096 * 4096
        /// Most queries in one message and in the active set.
        public var maxQueries = 32
        /// Longest query, in Unicode code points (as JSON Schema's maxLength counts).
        public var maxQueryCharacters = 200
        /// Brackets deep: the accepted shape `{"queries": [...]}` is 2.
        public var maxDepth = 2

        /// The default limits.
        public init() {}
    }

    /// Why a payload was refused; `description` is the text published on the `errors` topic.
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case tooLarge(bytes: Int, limit: Int)
        case empty
        case invalidUTF8
        case tooDeep(limit: Int)
        case notJSON
        case notAnObject
        case unknownField(String)
        case missingQueries
        case queriesNotAnArray
        case queryNotAString(index: Int)
        case tooManyQueries(count: Int, limit: Int)
        case emptyQuery(index: Int)
        case queryTooLong(index: Int, limit: Int)
        case controlCharacter(index: Int)
        case noQueries
        case imagesOnlyOnAdd
        case queriesAndImages
        case missingLabel
        case badLabel(String)
        case imagesNotAnArray
        case noImages
        case tooManyImages(count: Int, limit: Int)
        case imageNotAString(index: Int)
        case badBase64(index: Int)
        case notAnImage(index: Int)
        case imageTooLarge(index: Int, width: Int, height: Int, limit: Int)
        case queryFileOnlyOnAdd
        case badQueryFile(String)

        /// The reason as published on `errors`.
        public var description: String {
            switch self {
            case .tooLarge(let bytes, let limit): return "payload is \(bytes) bytes; the limit is \(limit)"
            case .empty: return "payload is empty; send {\"queries\": [\"...\"]}"
            case .invalidUTF8: return "payload is not valid UTF-8"
            case .tooDeep(let limit): return "JSON nests deeper than \(limit) levels"
            case .notJSON: return "payload is not valid JSON"
            case .notAnObject: return "payload must be a JSON object {\"queries\": [...]}"
            case .unknownField(let name):
                return "unknown field '\(name)'; only 'queries' (or 'label' and 'images' on add) is accepted"
            case .missingQueries: return "field 'queries' is missing"
            case .queriesNotAnArray: return "'queries' must be an array of strings"
            case .queryNotAString(let i): return "queries[\(i)] is not a string"
            case .tooManyQueries(let count, let limit): return "\(count) queries; at most \(limit) are allowed"
            case .emptyQuery(let i): return "queries[\(i)] is empty"
            case .queryTooLong(let i, let limit): return "queries[\(i)] is longer than \(limit) characters"
            case .controlCharacter(let i): return "queries[\(i)] contains control characters"
            case .noQueries: return "'queries' is empty; send at least one query to add or remove"
            case .imagesOnlyOnAdd: return "image queries are accepted on queries/add only"
            case .queriesAndImages: return "send either 'queries' or 'label' with 'images', not both"
            case .missingLabel: return "an image query needs 'label', the name its events carry"
            case .badLabel(let reason): return "'label' \(reason)"
            case .imagesNotAnArray: return "'images' must be an array of base64 JPEG or PNG strings"
            case .noImages: return "'images' is empty; send at least one base64 JPEG or PNG"
            case .tooManyImages(let count, let limit): return "\(count) images; at most \(limit) are allowed"
            case .imageNotAString(let i): return "images[\(i)] is not a string"
            case .badBase64(let i): return "images[\(i)] is not valid base64"
            case .notAnImage(let i): return "images[\(i)] is not a JPEG or PNG file"
            case .queryFileOnlyOnAdd: return "query files are accepted on queries/add only"
            case .badQueryFile(let reason): return "'query_file' \(reason)"
            case .imageTooLarge(let i, let width, let height, let limit):
                return "images[\(i)] is \(width)x\(height), more than \(limit) pixels; send a smaller picture"
            }
        }
    }

    /// Replace the set, add to it, or remove from it.
    public var action: Action
    /// Trimmed, de-duplicated, in the order given (empty for an image query).
    public var queries: [String]
    /// An image query (`queries/add` with `label` and `images`), or nil.
    public var image: ImageQuery? = nil
    /// A tuned query file (`queries/add` with `query_file`, the JSON object `vlm-stream tune` writes), or nil.
    public var queryFile: QueryFile? = nil

    /// A tuned query sent over MQTT: its label and the file's JSON (checked by the controller, which knows the model).
    public struct QueryFile: Sendable, Equatable {
        /// The query's name in events (the file's `label`).
        public var label: String
        /// The `query_file` object, serialized again.
        public var json: [UInt8]
    }

    /// A query made of example images sent over MQTT: their bytes (JPEG or PNG, not yet decoded) and its name.
    public struct ImageQuery: Sendable, Equatable {
        /// The query's name in events (trimmed).
        public var label: String
        /// The image files' bytes, base64-decoded.
        public var images: [[UInt8]]
    }

    /// Validates `payload` for `action`; throws the first `Rejection` found.
    public static func parse(_ payload: [UInt8], action: Action, limits: Limits = Limits()) throws -> ControlRequest {
        let sizeLimit =
            action == .add ? max(limits.maxPayloadBytes, limits.maxImagePayloadBytes) : limits.maxPayloadBytes
        guard payload.count <= sizeLimit else {
            throw Rejection.tooLarge(bytes: payload.count, limit: sizeLimit)
        }
        guard !payload.isEmpty else { throw Rejection.empty }
        guard String(bytes: payload, encoding: .utf8) != nil else { throw Rejection.invalidUTF8 }
        // A query file (an object of arrays) inside `{"query_file": …}` nests one level deeper than the rest.
        let depth = nestingDepth(payload)
        let depthLimit = action == .add ? max(limits.maxDepth, 3) : limits.maxDepth
        guard depth <= depthLimit else { throw Rejection.tooDeep(limit: depthLimit) }
        guard let document = json(payload) else { throw Rejection.notJSON }
        guard let object = document as? [String: Any] else { throw Rejection.notAnObject }
        if object["query_file"] != nil {
            guard action == .add else { throw Rejection.queryFileOnlyOnAdd }
            return ControlRequest(action: action, queries: [], queryFile: try queryFile(object))
        }
        guard depth <= limits.maxDepth else { throw Rejection.tooDeep(limit: limits.maxDepth) }
        if object["images"] != nil || object["label"] != nil {
            guard action == .add else { throw Rejection.imagesOnlyOnAdd }
            return ControlRequest(action: action, queries: [], image: try imageQuery(object, limits: limits))
        }
        // Only image queries may use the larger image limit.
        guard payload.count <= limits.maxPayloadBytes else {
            throw Rejection.tooLarge(bytes: payload.count, limit: limits.maxPayloadBytes)
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "queries" }) {
            throw Rejection.unknownField(String(unknown.prefix(40)))
        }
        guard let value = object["queries"] else { throw Rejection.missingQueries }
        guard let array = value as? [Any] else { throw Rejection.queriesNotAnArray }
        guard array.count <= limits.maxQueries else {
            throw Rejection.tooManyQueries(count: array.count, limit: limits.maxQueries)
        }
        var queries: [String] = []
        for (index, element) in array.enumerated() {
            guard let raw = element as? String, !(element is NSNumber) else {
                throw Rejection.queryNotAString(index: index)
            }
            let query = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !query.isEmpty else { throw Rejection.emptyQuery(index: index) }
            guard query.unicodeScalars.count <= limits.maxQueryCharacters else {
                throw Rejection.queryTooLong(index: index, limit: limits.maxQueryCharacters)
            }
            guard !hasControlCharacters(query) else { throw Rejection.controlCharacter(index: index) }
            if !queries.contains(query) { queries.append(query) }
        }
        if action != .set && queries.isEmpty { throw Rejection.noQueries }
        return ControlRequest(action: action, queries: queries)
    }

    /// The payload parsed as JSON (any value), or nil when it is not JSON. Callers check size, UTF-8 and nesting
    /// first, so the parser never sees input over those limits.
    static func json(_ payload: [UInt8]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed])
    }

    /// The deepest nesting of `[`/`{` outside JSON strings (a pre-parse guard: the parser never sees deep input).
    public static func nestingDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}
