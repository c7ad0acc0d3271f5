import Foundation
import TestSupport
import Testing
import VLMIndex

/// An index records the encoder precisions its frames were made at.
@Suite("index precision record")
struct IndexPrecisionTests {
    @Test("fp32 then int8 frames: both recorded once, in order")
    func recorded() throws {
        let dir = try Fixtures.temporaryDirectory("vlm-index-precision")
        let index = try VideoIndex(path: dir.appendingPathComponent("index.sqlite").path, create: true)
        _ = try index.prepare(videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
        #expect(try index.precisions() == ["fp32"])
        _ = try index.prepare(
            videoPath: "/v/b.mp4", fingerprint: fingerprintB, model: "m1", dimension: 8, fps: 2, precision: "int8")
        _ = try index.prepare(
            videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2, precision: "int8")
        #expect(try index.precisions() == ["fp32", "int8"])
    }
}
