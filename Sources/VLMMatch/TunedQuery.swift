import Foundation
import VLMCore

/// A tuned query's frame adapter and unit query, ready to score frames: `u = normalize(x + U·(Vᵀx))`, `c = u·q̂`.
public struct TunedAdapter: Sendable {
    /// q̂, unit length.
    public let query: [Double]
    let u: [Double]
    let v: [Double]
    let rank: Int

    /// The adapter of `parameters`.
    public init(parameters p: TuneParameters) {
        let n = max(norm(p.query), 1e-12)
        query = p.query.map { $0 / n }
        u = p.u
        v = p.v
        rank = p.rank
    }

    /// The adapted, normalised frame of `images[start..<start+D]`.
    public func apply(_ images: [Double], start: Int) -> [Double] {
        let d = query.count
        var h = [Double](repeating: 0, count: rank)
        for j in 0..<d { for a in 0..<rank { h[a] += v[j * rank + a] * images[start + j] } }
        var z = [Double](repeating: 0, count: d)
        for j in 0..<d {
            var sum = images[start + j]
            for a in 0..<rank { sum += u[j * rank + a] * h[a] }
            z[j] = sum
        }
        let n = max(norm(z), 1e-12)
        return z.map { $0 / n }
    }

    /// The adapted frame embedding (unit length) and its cosine with the query.
    public func apply(_ frame: Embedding) -> AdaptedFrame {
        let u = apply(frame.values.map(Double.init), start: 0)
        return AdaptedFrame(frame: u, cosine: dot(u, 0, query, 0, query.count))
    }
}

/// A frame after a tuned query's adapter.
public struct AdaptedFrame: Sendable {
    /// The adapted frame, unit length.
    public var frame: [Double]
    /// Its cosine with the tuned query.
    public var cosine: Double

    /// Its cosine with another (unit) embedding, such as a negative prompt.
    public func cosine(with other: Embedding) -> Double {
        var sum = 0.0
        for (a, b) in zip(frame, other.values) { sum += a * Double(b) }
        return sum
    }
}

/// Why a query file cannot be used; one line each.
public enum QueryFileError: UserFacingError, Equatable {
    /// Not readable or not a vlm-stream query file.
    case notAQueryFile(path: String, reason: String)
    /// Made with another model.
    case modelMismatch(path: String, file: String, running: String)

    public var description: String {
        switch self {
        case .notAQueryFile(let path, let reason):
            return "\(path) is not a vlm-stream query file (\(reason)); make one with `vlm-stream tune`"
        case .modelMismatch(let path, let file, let running):
            return "query file \(path) was tuned for model \(file), not \(running); tune it again with this model"
        }
    }
}

/// A query made by `vlm-stream tune`: `*.query.json`.
public struct TunedQuery: Sendable, Codable, Equatable {
    /// Always `vlm-stream.query`.
    public var format = TunedQuery.formatName
    /// File format version (1).
    public var version = 1
    /// The query's name in events (the text it started from, or the image files).
    public var label: String
    /// The encoder identity of the model it was tuned for (`modelIdentity`).
    public var model: String
    /// q (D).
    public var embedding: [Double]
    /// Adapter rank r.
    public var rank: Int
    /// U, D×r row-major.
    public var adapterU: [Double]
    /// V, D×r row-major.
    public var adapterV: [Double]
    /// The tuned logit scale s.
    public var logitScale: Double
    /// Suggested thresholds and held-out quality after tuning.
    public var thresholds: TuneQuality
    /// Held-out quality of the untuned query, for comparison.
    public var untuned: TuneQuality

    public static let formatName = "vlm-stream.query"

    enum CodingKeys: String, CodingKey {
        case format, version, label, model, embedding, rank
        case logitScale = "logit_scale"
        case thresholds, untuned
        case adapterU = "adapter_u"
        case adapterV = "adapter_v"
    }

    /// A query file from tuned parameters.
    public init(label: String, model: String, parameters p: TuneParameters, after: TuneQuality, before: TuneQuality) {
        self.label = label
        self.model = model
        embedding = p.query
        rank = p.rank
        adapterU = p.u
        adapterV = p.v
        logitScale = Foundation.exp(p.logScale)
        thresholds = after
        untuned = before
    }

    /// The parameters it holds.
    public var parameters: TuneParameters {
        TuneParameters(query: embedding, u: adapterU, v: adapterV, logScale: Foundation.log(logitScale), rank: rank)
    }

    /// Writes the file (pretty JSON).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Reads and checks a query file; with `model`, refuses one tuned for another model.
    public static func load(_ url: URL, model: String? = nil) throws(QueryFileError) -> TunedQuery {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .notAQueryFile(path: url.path, reason: "cannot read it: \(error.localizedDescription)")
        }
        return try decode(data, path: url.path, model: model)
    }

    /// Checks a query file's bytes (`path` names them in errors); with `model`, refuses one tuned for another model.
    public static func decode(_ data: Data, path: String, model: String? = nil) throws(QueryFileError) -> TunedQuery {
        let query: TunedQuery
        do {
            query = try JSONDecoder().decode(TunedQuery.self, from: data)
        } catch let error as DecodingError {
            throw .notAQueryFile(path: path, reason: Self.reason(error))
        } catch {
            throw .notAQueryFile(path: path, reason: "cannot read it: \(error.localizedDescription)")
        }
        guard query.format == formatName else { throw .notAQueryFile(path: path, reason: "format is \(query.format)") }
        guard query.version == 1 else { throw .notAQueryFile(path: path, reason: "version \(query.version)") }
        let d = query.embedding.count
        guard d > 0, query.rank >= 1, query.adapterU.count == d * query.rank, query.adapterV.count == d * query.rank
        else { throw .notAQueryFile(path: path, reason: "its embedding and adapter shapes disagree") }
        let values = query.embedding + query.adapterU + query.adapterV
        guard values.allSatisfy(\.isFinite), query.logitScale.isFinite else {
            throw .notAQueryFile(path: path, reason: "it holds non-finite numbers")
        }
        // What tune writes: exp of a learned log-scale near CLIP's (100), an embedding of norm 1, small adapters.
        // Beyond these bounds the scores would overflow to infinity or divide by a zero norm.
        guard query.logitScale > 0, query.logitScale <= 1000 else {
            throw .notAQueryFile(path: path, reason: "logit_scale \(query.logitScale) is outside (0, 1000]")
        }
        guard query.embedding.contains(where: { $0 != 0 }) else {
            throw .notAQueryFile(path: path, reason: "its embedding is all zeros")
        }
        guard values.allSatisfy({ abs($0) <= 10_000 }) else {
            throw .notAQueryFile(path: path, reason: "it holds values beyond ±10000")
        }
        if let model, query.model != model { throw .modelMismatch(path: path, file: query.model, running: model) }
        return query
    }

    private static func reason(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "no \(key.stringValue) key"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            let at = c.codingPath.map(\.stringValue).joined(separator: ".")
            return at.isEmpty ? "not JSON of a query" : "bad value at \(at)"
        @unknown default: return "not a query"
        }
    }
}
