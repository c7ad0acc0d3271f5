import CLIP
import Foundation
import VLMCore
import VLMVideo

/// tiny-clip's preprocessing (32 px crop): the same resize, crop and normalisation code as CLIP's 224 px, at a cost
/// that leaves each input's time to the decoding (224 px takes about a second per picture in the sanitised build).
private enum Tiny {
    static let preprocessing: ImagePreprocessing? = try? CLIPImagePreprocessor(
        configFile: fixture("tiny-clip/preprocessor_config.json"))
}

/// Loads the media targets' fixture before libFuzzer starts its clock.
func loadMediaFixtures() {
    guard Tiny.preprocessing != nil else { fatalError("cannot load Tests/Fixtures/tiny-clip/preprocessor_config.json") }
}

/// A picture through `embed image`'s path: `ImageFile.decode`, then CLIP preprocessing of the result. Pictures
/// declaring more than 512 × 512 pixels are refused on their header, as the network paths refuse more than
/// `ImageFile.untrustedMaxPixels`: decoding and resizing cost grows with the pixels, and the sanitised debug build
/// is ~20× slower than release (a 4096 × 4096 WebP of 30 KB: 11.8 s here, 0.6 s in release), so a 1 s limit per
/// input holds only for small pictures.
func fuzzImageFile(_ bytes: [UInt8]) {
    guard let image = try? ImageFile.decode(Scratch.file("image", bytes), maxPixels: 512 * 512) else { return }
    _ = Tiny.preprocessing?.pixelValues(image)
}

/// A video container through `VideoSource` (our demuxing, decoding, sampling and conversion around FFmpeg): up to
/// 8 sampled frames, one decoder thread, pictures of at most 512 × 512 pixels (`maxFramePixels`, for the reason
/// `fuzzImageFile` gives: an mpeg4 stream of 10 KB whose second VOL header declares 5388 × 6569 took 1.7 s here).
func fuzzVideoContainer(_ bytes: [UInt8]) {
    var options = VideoSourceOptions()
    options.sampling = .every(1)
    options.decoderThreads = 1
    options.maxFramePixels = 512 * 512
    options.reconnect.maxAttempts = 0
    if let tiny = Tiny.preprocessing { options.preprocessing = tiny }
    guard let source = try? VideoSource(.file(Scratch.file("video", bytes).path), options: options) else { return }
    for _ in 0..<8 {
        guard let frame = try? source.next() else { break }
        _ = frame
    }
}
