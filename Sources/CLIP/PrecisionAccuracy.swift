import Foundation
import VLMCore
import VLMTensor

/// How far a reduced-precision model's embeddings are from the float32 model's, on a fixed set of varied synthetic
/// images and video frames and a fixed set of label token sequences (`bench encoder --accuracy`, tests).
public struct PrecisionAccuracy: Sendable {
    /// ‖P − G‖ / ‖G − mean(G)‖ over all image embeddings (G float32, P the other precision; the mean over images):
    /// the error relative to how much the embeddings differ from each other.
    public var centeredRelativeError: Double
    /// The fraction of images whose best label (argmax of image·label over the labels, each model with its own
    /// text tower) is the same for both models.
    public var zeroShotAgreement: Double
    /// How near each image's float32 choice is to a tie: its best label's score minus the second best's, as a
    /// fraction of the range of its label scores; the median over all images, and the values of the images whose
    /// choice changed. A random-weight model's labels score almost alike, so a change may be a near-tie's.
    public var medianMargin: Double
    public var disagreementMargins: [Double]
    public var images: Int
    public var labels: Int

    /// Compares `candidate` with `reference` (the same checkpoint at two precisions) on `imageCount` images and
    /// `labelCount` labels.
    public static func measure(
        reference: CLIPWeights, candidate: CLIPWeights, imageCount: Int = 56, labelCount: Int = 20, batch: Int = 8
    ) throws -> PrecisionAccuracy {
        let side = reference.config.vision.imageSize
        let images = (0..<imageCount).map { syntheticImage($0, side: side) }
        func embedImages(_ weights: CLIPWeights) throws -> [[Float]] {
            let model = CLIPVisionModel(weights: weights)
            var out: [[Float]] = []
            for start in stride(from: 0, to: imageCount, by: batch) {
                let part = images[start..<min(imageCount, start + batch)]
                out += try model.encode(pixelValues: Array(part.joined()), batch: part.count).map(\.values)
            }
            return out
        }
        let g = try embedImages(reference)
        let p = try embedImages(candidate)
        let dim = g.first?.count ?? 0
        var mean = [Double](repeating: 0, count: dim)
        for row in g { for c in 0..<dim { mean[c] += Double(row[c]) / Double(g.count) } }
        var error = 0.0
        var spread = 0.0
        for (gr, pr) in zip(g, p) {
            for c in 0..<dim {
                error += pow(Double(pr[c]) - Double(gr[c]), 2)
                spread += pow(Double(gr[c]) - mean[c], 2)
            }
        }
        let tokens = labelTokens(labelCount, config: reference.config)
        let gl = try CLIPTextModel(weights: reference).encode(tokenIDs: tokens).map(\.values)
        let pl = try CLIPTextModel(weights: candidate).encode(tokenIDs: tokens).map(\.values)
        func scores(_ image: [Float], _ labels: [[Float]]) -> [Float] {
            labels.map { label in zip(image, label).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
        }
        func best(_ scores: [Float]) -> Int { scores.indices.max { scores[$0] < scores[$1] } ?? 0 }
        var agree = 0
        var margins: [Double] = []
        var disagreementMargins: [Double] = []
        for (gi, pi) in zip(g, p) {
            let reference = scores(gi, gl)
            let sorted = reference.sorted(by: >)
            let margin =
                sorted.count > 1 ? Double(sorted[0] - sorted[1]) / Double(max(sorted[0] - sorted.last!, 1e-30)) : 1
            margins.append(margin)
            if best(reference) == best(scores(pi, pl)) { agree += 1 } else { disagreementMargins.append(margin) }
        }
        return PrecisionAccuracy(
            centeredRelativeError: (error / max(spread, .leastNonzeroMagnitude)).squareRoot(),
            zeroShotAgreement: Double(agree) / Double(max(1, imageCount)),
            medianMargin: margins.isEmpty ? 0 : margins.sorted()[margins.count / 2],
            disagreementMargins: disagreementMargins.sorted(),
            images: imageCount, labels: labelCount)
    }

    /// Image `index` of the varied set, as normalised pixel values (3, side, side) in about [−2, 2]: eight kinds
    /// (gradients, checkerboards, stripes, discs, noise, and three kinds of video frame: a square moving over
    /// texture, a camera pan, a fade), each with its own parameters per index.
    public static func syntheticImage(_ index: Int, side: Int) -> [Float] {
        var generator = SplitMix64(seed: UInt64(index) &* 7919 &+ 17)
        let kind = index % 8
        let t = Double(index / 8)
        let colour = (0..<3).map { _ in Double(generator.nextUnitFloat()) * 2 - 1 }
        let noise = (0..<(3 * side * side)).map { _ in Double(generator.nextUnitFloat()) * 2 - 1 }
        var pixels = [Float](repeating: 0, count: 3 * side * side)
        for c in 0..<3 {
            for y in 0..<side {
                for x in 0..<side {
                    let (u, v) = (Double(x) / Double(side), Double(y) / Double(side))
                    let texture = sin(13 * u + 7 * v) * cos(5 * u - 11 * v)
                    let value: Double
                    switch kind {
                    case 0: value = colour[c] + (u * cos(t) + v * sin(t)) * (1 - colour[c])
                    case 1: value = ((Int(u * (4 + t)) + Int(v * (4 + t))) % 2 == 0 ? 1 : -1) * colour[c]
                    case 2: value = sin((u + v * colour[(c + 1) % 3]) * (6 + 3 * t)) + 0.3 * colour[c]
                    case 3:
                        let r = hypot(u - 0.5 - 0.05 * t, v - 0.4)
                        value = r < 0.15 + 0.03 * t ? colour[c] * 1.5 : -0.5 * colour[c]
                    case 4: value = noise[(c * side + y) * side + x] * (0.5 + 0.2 * t)
                    case 5:  // a square moving across textured ground, frame t
                        let inside = abs(u - 0.1 - 0.1 * t) < 0.12 && abs(v - 0.5) < 0.12
                        value = inside ? 1.5 * colour[c] : 0.6 * texture
                    case 6:
                        value =
                            0.8 * sin(13 * (u + 0.05 * t) + 7 * v) * cos(5 * (u + 0.05 * t) - 11 * v) + 0.2 * colour[c]
                    default: value = (1 - t / 7) * texture + (t / 7) * colour[c]
                    }
                    pixels[(c * side + y) * side + x] = Float(
                        max(-2, min(2, value + 0.05 * noise[(c * side + y) * side + x])))
                }
            }
        }
        return pixels
    }

    /// `count` fixed label token sequences (start token, 3–10 tokens, end token) within `config`'s vocabulary.
    public static func labelTokens(_ count: Int, config: CLIPConfig) -> [[Int32]] {
        let vocab = config.text.vocabSize
        let length = config.text.maxPositionEmbeddings
        var generator = SplitMix64(seed: 2024)
        // The end token is the highest id (eos_token_id 2, older configs, or an id outside the vocabulary, as a
        // test-size SigLIP's) or eos_token_id; the others avoid it.
        let eos = config.text.eosTokenID
        let end = eos == 2 || eos >= vocab ? vocab - 1 : eos
        return (0..<count).map { i in
            let words = min(length - 2, 3 + i % 8)
            let middle = (0..<words).map { _ -> Int32 in
                let id = 1 + Int(generator.nextUnitFloat() * Float(max(1, vocab - 3)))
                return Int32(id == end ? id - 1 : id)
            }
            return [Int32(max(0, vocab - 2 == end ? vocab - 3 : vocab - 2))] + middle + [Int32(end)]
        }
    }
}
