import Foundation
import VLMCaption
import VLMCore
import VLMIndex

extension IndexPipeline {
    // MARK: - Captions of a stored video, by the caption model

    /// A caption model's captions of a stored video (`.caption` plan, or the end of a resumed one): the file is
    /// decoded again at the index's fps for the model's images, and each frame is paired with its stored embedding
    /// (the triggers read embeddings, as in the graph); nothing is encoded. Stores the captions (replacing any)
    /// and returns their count, or nil when `stop()` came first (the video keeps its earlier captions).
    func captionDecoded(_ url: URL, videoID: Int64, stage: BackgroundCaptioner) throws -> Int? {
        let path = url.path
        var embeddings: [Double: [Float]] = [:]
        for frame in try index.frames(videoID: videoID) { embeddings[frame.pts] = frame.embedding }
        let source = try IndexFrameSource(
            url: url, fps: spec.fps, imageSize: model.imageSize, after: nil,
            captions: stage.captioner.preprocessing, logger: Self.quiet("vlm.video"), onDamage: { _ in })
        let writer = IndexWriter(index: index, videoID: videoID, stream: path, chunkFrames: 1, onFailure: { _ in })
        var last: Double?
        try source.run { frame in
            // The same decode and sampling give the stored frames' exact pts; frames not stored are not captioned.
            guard let embedding = embeddings[frame.time.seconds] else { return !isStopping }
            stage.images.remember(frame)
            let encoded = EncodedFrame(
                stream: path, sequence: frame.sequence, time: frame.time, embeddings: [Embedding(embedding)],
                boxes: [.full])
            for result in stage.analyze(encoded) { writer.consume(result) }
            last = frame.time.seconds
            return !isStopping
        }
        let duration = try index.videos().first { $0.id == videoID }?.duration
        guard let end = duration ?? last else { return 0 }
        for result in stage.finish(stream: path, at: end) { writer.consume(result) }
        if isStopping { return nil }
        try index.complete(
            videoID: videoID, duration: duration, captions: try embedded(writer.captions),
            captioner: captionerIdentity ?? "")
        return writer.captions.count
    }

    /// `captions` with their texts' embeddings by the index model's text tower (one batch per video), which
    /// `search --text` compares with the query's embedding.
    func embedded(_ captions: [IndexedCaption]) throws -> [IndexedCaption] {
        guard !captions.isEmpty else { return captions }
        let embeddings = try model.encode(texts: captions.map(\.text))
        return zip(captions, embeddings).map { caption, embedding in
            var caption = caption
            caption.embedding = embedding.normalized().values
            return caption
        }
    }
}
