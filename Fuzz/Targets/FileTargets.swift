import Foundation
@testable import VLMCaption
import VLMIndex
import VLMPipeline
@testable import VLMPublish

/// A pipeline file through `PipelineSpec.load(from:)` (UTF-8 check, YAML, decoding, validation).
func fuzzPipelineYAML(_ bytes: [UInt8]) {
    _ = try? PipelineSpec.load(from: Scratch.file("pipeline.yaml", bytes))
}

/// A caption vocabulary file through `CaptionVocabulary.load(from:)`.
func fuzzCaptionVocabulary(_ bytes: [UInt8]) {
    _ = try? CaptionVocabulary.load(from: Scratch.file("captions.yaml", bytes))
}

/// The text-embedding cache file through `TextEmbeddingCacheFile.read(from:)`: the input as found, and the input
/// with a valid checksum appended (so mutations reach the parser behind the checksum).
func fuzzTextEmbeddingCache(_ bytes: [UInt8]) {
    _ = try? TextEmbeddingCacheFile.read(from: Scratch.file("cache.bin", bytes))
    var sealed = bytes
    let hash = FNV1a64.hash(bytes)
    for shift in stride(from: 0, to: 64, by: 8) { sealed.append(UInt8(truncatingIfNeeded: hash >> UInt64(shift))) }
    _ = try? TextEmbeddingCacheFile.read(from: Scratch.file("cache.bin", sealed))
}

/// The MQTT outbox directory as a crash leaves it: `outbox.log` NUL `outbox.acked`, opened by `Outbox(directory:)`
/// (load, replay order, compaction), drained and closed.
func fuzzOutbox(_ bytes: [UInt8]) {
    let parts = bytes.parts(2)
    let directory = Scratch.emptyDirectory("outbox")
    Scratch.file("outbox.log", parts[0], in: directory)
    Scratch.file("outbox.acked", parts[1], in: directory)
    guard let outbox = try? Outbox(directory: directory, limit: 64) else { return }
    while let entry = outbox.popNext() { outbox.acknowledge(entry) }
    outbox.close()
}

/// A database file opened the way `search` opens it (`VideoIndex(path:create: false)`), then everything search
/// and serve read: videos, the embedding matrix, each video's frames and captions.
func fuzzIndexDatabase(_ bytes: [UInt8]) {
    let path = Scratch.directory.appendingPathComponent("index.sqlite").path
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    Scratch.file("index.sqlite", bytes)
    guard let index = try? VideoIndex(path: path, create: false) else { return }
    _ = try? index.revision()
    _ = try? index.matrix()
    for video in ((try? index.videos()) ?? []).prefix(8) {
        _ = try? index.frames(videoID: video.id)
        _ = try? index.captions(videoID: video.id)
        _ = try? index.framePTS(videoID: video.id)
    }
}
