import CLIP
import Foundation
import TestSupport
import VLMCore

enum TinyCLIP {
    /// Loaded once for the whole test run.
    private static let shared: Result<CLIPModel, any Error> = Result {
        try CLIPModel.load(directory: Fixtures.url("tiny-clip"))
    }

    /// The real tiny random-weight CLIP model from Tests/Fixtures/tiny-clip, used for its text tower.
    static func textEncoder() throws -> any TextEncoding {
        try shared.get()
    }
}
