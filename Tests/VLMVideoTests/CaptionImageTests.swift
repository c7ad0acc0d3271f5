import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// `VideoSourceOptions.captionPreprocessing`: each sampled frame also carries the whole frame at the caption
/// model's own preprocessing, made in the same decode.
@Suite struct CaptionImageTests {
    func first(_ options: VideoSourceOptions) throws -> Frame {
        let source = try VideoSource(.file(Fixtures.sampleVideo("plaza.mp4").path), options: options)
        return try #require(try source.next()).frame
    }

    @Test func captionImageIsAtTheCaptionModelsSizeAndIsTheSamePictureAsAnEncoderOfThatSize() throws {
        var options = VideoSourceOptions()
        options.preprocessing = .clip(side: 64)
        options.captionPreprocessing = .clip(side: 96)
        let frame = try first(options)
        let caption = try #require(frame.captionImage)
        #expect((caption.width, caption.height) == (96, 96))
        #expect((frame.views[0].image.width, frame.views[0].image.height) == (64, 64))
        // The same pixels a source whose encoder took 96 px would make for its view.
        var reference = VideoSourceOptions()
        reference.preprocessing = .clip(side: 96)
        #expect(try first(reference).views[0].image.pixels == caption.pixels)
    }

    @Test func equalPreprocessingReusesTheViewAndNoneMakesNone() throws {
        var options = VideoSourceOptions()
        options.preprocessing = .clip(side: 64)
        #expect(try first(options).captionImage == nil)
        options.captionPreprocessing = .clip(side: 64)
        let frame = try first(options)
        #expect(frame.captionImage?.pixels == frame.views[0].image.pixels)
    }
}
