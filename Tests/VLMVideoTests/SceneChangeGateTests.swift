import Foundation
import TestSupport
import Testing

@testable import VLMVideo

@Suite("SceneChangeGate")
struct SceneChangeGateTests {
    private let flat = [UInt8](repeating: 100, count: 64)

    @Test("first frame encodes, identical frames reuse, a global change encodes")
    func basics() {
        var gate = SceneChangeGate()
        #expect(gate.decide(luma: flat, at: 0) == .encode(.first))
        #expect(gate.decide(luma: flat, at: 0.5) == .reuse)
        let brighter = flat.map { $0 + 10 }
        #expect(gate.decide(luma: brighter, at: 1) == .encode(.changed))
        #expect(gate.decide(luma: brighter, at: 1.5) == .reuse)
        #expect(gate.encodedCount == 2 && gate.reusedCount == 2)
        #expect(gate.reuseFraction == 0.5)
    }

    @Test("a small local change (one pixel of 64 moved a lot) counts, noise does not")
    func localChange() {
        var gate = SceneChangeGate()
        _ = gate.decide(luma: flat, at: 0)
        var noisy = flat
        for i in stride(from: 0, to: 64, by: 2) { noisy[i] += 3 }
        #expect(gate.decide(luma: noisy, at: 0.5) == .reuse)
        var person = flat
        person[10] = 200
        #expect(gate.decide(luma: person, at: 1) == .encode(.changed))
    }

    @Test("slow drift is caught because frames are compared with the last encoded one")
    func drift() {
        var gate = SceneChangeGate(configuration: .init(maxReuseInterval: nil))
        _ = gate.decide(luma: flat, at: 0)
        var decisions: [SceneChangeGate.Decision] = []
        for step in 1...10 {
            decisions.append(gate.decide(luma: flat.map { $0 + UInt8(step) }, at: Double(step)))
        }
        #expect(decisions.prefix(4).allSatisfy { $0 == .reuse })
        #expect(decisions[4] == .encode(.changed))  // +5 levels > 4
    }

    @Test("the embedding is refreshed after the max reuse interval; reset forces an encode")
    func refresh() {
        var gate = SceneChangeGate(configuration: .init(maxReuseInterval: 2))
        _ = gate.decide(luma: flat, at: 0)
        #expect(gate.decide(luma: flat, at: 1.9) == .reuse)
        #expect(gate.decide(luma: flat, at: 2.0) == .encode(.refresh))
        gate.reset()
        #expect(gate.decide(luma: flat, at: 2.5) == .encode(.first))
        #expect(gate.decide(luma: [], at: 3) == .encode(.noThumbnail))
    }

    /// Runs the default gate over a sample clip at the default 2 fps.
    private func reuseFraction(_ url: URL) throws -> Double {
        var options = VideoSourceOptions()
        options.imageSize = 16
        let source = try VideoSource(.file(url.path), options: options)
        var gate = SceneChangeGate()
        while let sampled = try source.next() {
            _ = gate.decide(luma: sampled.frame.luma, at: sampled.frame.time.seconds)
        }
        return gate.reuseFraction
    }

    @Test("on real footage: the static clip mostly reuses, the plaza and the film cut mostly encode")
    func realFootage() throws {
        let still = try reuseFraction(staticTree)
        let plazaReuse = try reuseFraction(plaza)
        let film = try reuseFraction(megamind)
        // 20 samples of the tree: the first, a refresh at 5 s, the rest reused (0.9); people walking keep plaza
        // frames "changed".
        #expect(still >= 0.8)
        #expect(plazaReuse <= 0.2)
        #expect(film <= 0.2)
    }
}
