import CLIP
import Foundation
import VLMCore
import VLMMatch
import VLMVideo

/// A running pipeline's query set as MQTT control sees it: text queries go to the matcher as they are; an image
/// query's pictures are decoded (at most `ImageFile.untrustedMaxPixels` each, checked on the header before
/// decoding), embedded with the pipeline's model and averaged like `--query-image` (with the spec's crops), then
/// added as one query.
///
/// Runs on the stream's control queue, beside the encoder workers: the model's weights are shared read-only.
public final class ImageQueryController: QueryControlling {
    /// The matching stage whose queries this controls.
    public let matcher: QueryMatcher
    let model: CLIPModel
    let crops: Bool

    /// Controls `matcher`, embedding pictures with `model` (and their crops when `crops`).
    public init(matcher: QueryMatcher, model: CLIPModel, crops: Bool) {
        self.matcher = matcher
        self.model = model
        self.crops = crops
    }

    public var activeQueries: [String] { matcher.activeQueries }
    public func setQueries(_ queries: [String]) throws { try matcher.setQueries(queries) }
    public func addQueries(_ queries: [String]) throws { try matcher.addQueries(queries) }
    public func removeQueries(_ queries: [String]) { matcher.removeQueries(queries) }

    /// Decodes each picture (a `VideoError` naming `images[i]` when it is not one), embeds and averages them, and
    /// adds the result as the query `label` (replacing one of that name).
    public func addImageQuery(label: String, images: [[UInt8]]) throws {
        var pictures: [RGBImage] = []
        for (i, bytes) in images.enumerated() {
            pictures.append(
                try ImageFile.decode(bytes: bytes, name: "images[\(i)]", maxPixels: ImageFile.untrustedMaxPixels))
        }
        try matcher.addQuery(label: label, embedding: ExampleImages.embedding(pictures, encoder: model, crops: crops))
    }

    /// Checks the tuned query file like `--query-file` does (format, shapes, finite numbers, this pipeline's model)
    /// and adds it, replacing a query of its label.
    public func addTunedQuery(json: [UInt8]) throws {
        try matcher.addQuery(TunedQuery.decode(Data(json), path: "query_file", model: model.modelIdentity))
    }
}
