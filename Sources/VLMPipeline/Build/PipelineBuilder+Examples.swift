import CLIP
import Foundation
import VLMCore
import VLMIndex
import VLMMatch
import VLMVideo

/// Queries by example: `query_files:` (tuned by `vlm-stream tune`), `query_images:` and `query_moments:`.
extension PipelineBuilder {
    /// Adds the spec's tuned query files (refusing another model's), its example images as one query, and each
    /// index moment as a query of its own (refusing an index of another model).
    func addExampleQueries(to matcher: QueryMatcher, model: CLIPModel) throws {
        for path in spec.queryFiles {
            try matcher.addQuery(TunedQuery.load(URL(fileURLWithPath: path), model: model.modelIdentity))
        }
        if !spec.queryImages.isEmpty {
            let pictures = try spec.queryImages.map { path throws(VideoError) in
                try ImageFile.decode(URL(fileURLWithPath: path))
            }
            try matcher.addQuery(
                label: ExampleImages.label(spec.queryImages),
                embedding: ExampleImages.embedding(pictures, encoder: model, crops: spec.queryImageCrops))
        }
        for text in spec.queryMoments {
            let moment = try IndexMoment(parsing: text)
            let frame = try VideoIndex(path: moment.index, create: false).frame(at: moment, model: model.modelIdentity)
            try matcher.addQuery(label: moment.label, embedding: Embedding(frame.embedding))
        }
    }
}
