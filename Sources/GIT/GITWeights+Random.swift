import CLIP
import VLMTensor

extension GITWeights {
    /// Seeded random weights of `config`'s shape, in memory, for benchmarks (layer-norm gains 1, biases small,
    /// weights ~ 1/√fan-in, embeddings 0.5).
    public static func random(config: GITConfig, seed: UInt64 = 1) throws -> GITWeights {
        try config.validate()
        return try GITWeights(config: config, source: RandomSource(seed: seed))
    }
}

/// xorshift64* per tensor, seeded by the FNV-1a hash of its key, so every run makes the same weights.
struct RandomSource: TensorSource {
    let seed: UInt64

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        let t = Tensor(zeros: shape)
        let isNorm =
            key.contains("LayerNorm") || key.contains("layrnorm") || key.contains("layernorm")
            || key.contains("layer_norm") || key.contains("visual_projection.1")
        if isNorm && key.hasSuffix("weight") {
            t.buffer.initialize(repeating: 1)
            return t
        }
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : shape.first ?? 1
        let scale: Float =
            key.hasSuffix("bias") ? 0.02 : (key.contains("embedding") ? 0.5 : 1 / Float(max(fanIn, 1)).squareRoot())
        var state = key.utf8.reduce(seed ^ 0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 } | 1
        for i in 0..<t.count {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
            t.data[i] = (Float(bits) / Float(1 << 24) * 2 - 1) * 1.732 * scale
        }
        return t
    }
}
