import CLIP
import Foundation
import TestSupport
import Testing
import VLMCore
import VLMMatch

/// VLMMatch on the real CLIP towers (the tiny random-weight checkpoint in Tests/Fixtures/tiny-clip): the scores
/// mean nothing, so these check the contract with a real `TextEncoding`/`ImageEncoding` and the invariants.
@Suite struct RealModelTests {
    static let model: CLIPModel? = try? CLIPModel.load(directory: Fixtures.url("tiny-clip"))

    /// A few synthetic images: flat colours and a gradient.
    func images(_ size: Int) -> [RGBImage] {
        let colours: [(UInt8, UInt8, UInt8)] = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
        var result = colours.map { c in
            RGBImage(width: size, height: size, pixels: (0..<size * size).flatMap { _ in [c.0, c.1, c.2] })
        }
        var gradient = [UInt8]()
        for y in 0..<size {
            for x in 0..<size { gradient += [UInt8(x * 255 / size), UInt8(y * 255 / size), 90] }
        }
        result.append(RGBImage(width: size, height: size, pixels: gradient))
        return result
    }

    @Test func ensembleLabelsAndEventsOnTheTinyModel() throws {
        let model = try #require(Self.model, "tiny-clip fixture did not load")
        let matcher = try QueryMatcher(encoder: model, settings: MatchSettings(), queries: ["a red car", "a dog"])
        // The ensemble of the real text tower is a unit vector, different from any single template's embedding.
        let ensemble = try matcher.prompts.embed("a red car")
        #expect(abs(ensemble.dot(ensemble) - 1) < 1e-4)
        let single = try model.encode(texts: ["a photo of a red car."])[0]
        #expect(single.dot(ensemble) < 0.99999)
        #expect(matcher.prompts.logitScale == Double(model.logitScale))

        let views = try model.encode(images: images(model.imageSize))
        let labels = try LabelClassifier(labels: ["car", "dog", "tree"], prompts: matcher.prompts)
        var events: [QueryEvent] = []
        for i in 0..<40 {
            let frame = EncodedFrame(
                stream: "tiny", sequence: i, time: MediaTime(seconds: Double(i) * 0.5),
                embeddings: [views[(i / 5) % views.count]], boxes: [.full])
            let results = matcher.analyze(frame)
            events += results.compactMap { if case .event(let e) = $0 { e } else { nil } }
            let l = try #require(labels.analyze(frame).first?.labels, "frame \(i) gave no labels")
            #expect(abs(l.labels.map(\.probability).reduce(0, +) - 1) < 1e-9)
            #expect(zip(l.labels, l.labels.dropFirst()).allSatisfy { $0.probability >= $1.probability })
        }
        events += matcher.finish(stream: "tiny", at: 19.5).compactMap { if case .event(let e) = $0 { e } else { nil } }
        #expect(eventViolation(events) == nil)
        let summary = matcher.summary()
        #expect(summary.entries.map(\.query) == ["a red car", "a dog"])
        #expect(summary.entries.flatMap(\.intervals).count == events.filter { $0.type == .end }.count)
    }
}
