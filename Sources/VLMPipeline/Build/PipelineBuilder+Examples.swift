import CLIP
import Foundation
import VLMCore
import VLMMatch
import VLMVideo

/// Queries by example: `query_files:` (tuned by `vlm-stream tune`) and `query_images:`.
extension PipelineBuilder {
    /// Adds the spec's tuned query files (refusing another model's) and its example images as one query.
    func addExampleQueries(to matcher: QueryMatcher, model: CLIPModel) throws {
        for path in spec.queryFiles {
            try matcher.addQuery(TunedQuery.load(URL(fileURLWithPath: path), model: model.modelIdentity))
        }
        if !spec.queryImages.isEmpty {
            try matcher.addQuery(
                label: ExampleImages.label(spec.queryImages),
                embedding: ExampleImages.embedding(spec.queryImages, encoder: model))
        }
    }
}

/// Example images of one thing: each embedded whole (the checkpoint's full preprocessing, as `search --image`),
/// normalised, averaged, normalised again.
public enum ExampleImages {
    /// The query's name: the images' file names joined by `+`.
    public static func label(_ paths: [String]) -> String {
        paths.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: "+")
    }

    /// The averaged embedding; an unreadable or non-image file is a `VideoError` naming it.
    public static func embedding(_ paths: [String], encoder: CLIPModel) throws -> Embedding {
        let pictures = try paths.map { path throws(VideoError) in try ImageFile.decode(URL(fileURLWithPath: path)) }
        let embedded = try encoder.encode(stills: pictures)
        guard let first = embedded.first else {
            throw MatchError.invalidQuery("images", reason: "no example image given")
        }
        var sum = [Float](repeating: 0, count: first.count)
        for e in embedded { for (i, x) in e.normalized().values.enumerated() { sum[i] += x } }
        return Embedding(sum).normalized()
    }
}
