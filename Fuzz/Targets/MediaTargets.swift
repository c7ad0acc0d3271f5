import Foundation
import VLMCore
import VLMVideo

/// A picture through `embed image`'s path: `ImageFile.decode`, then CLIP's preprocessing of the result.
func fuzzImageFile(_ bytes: [UInt8]) {
    guard let image = try? ImageFile.decode(Scratch.file("image", bytes)) else { return }
    _ = ImagePreprocessing.openAI.pixelValues(image)
}

/// A video container through `VideoSource` (our demuxing, decoding, sampling and conversion around FFmpeg): up to
/// 8 sampled frames, one decoder thread.
func fuzzVideoContainer(_ bytes: [UInt8]) {
    var options = VideoSourceOptions()
    options.sampling = .every(1)
    options.decoderThreads = 1
    options.reconnect.maxAttempts = 0
    guard let source = try? VideoSource(.file(Scratch.file("video", bytes).path), options: options) else { return }
    for _ in 0..<8 {
        guard let frame = try? source.next() else { break }
        _ = frame
    }
}
