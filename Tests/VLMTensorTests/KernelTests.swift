import Testing

@testable import VLMTensor

/// Each fast kernel against its naive reference in `Reference` (double accumulators, libm).
@Suite("Kernels match their naive references")
struct KernelTests {
    /// Deterministic pseudo-random values in [-scale, scale).
    static func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test("linear (sgemm x·Wᵀ + b) and its accumulate form", arguments: [(1, 8, 8), (50, 64, 96), (77, 48, 32)])
    func linear(rows: Int, inFeatures: Int, outFeatures: Int) {
        let x = Self.random(rows * inFeatures, seed: 1)
        let w = Self.random(outFeatures * inFeatures, seed: 2)
        let b = Self.random(outFeatures, seed: 3)
        let expected = Reference.linear(x, rows: rows, inFeatures: inFeatures, weight: w, bias: b)
        var y = [Float](repeating: 0, count: rows * outFeatures)
        GEMM.linear(x, rows: rows, inFeatures: inFeatures, weight: w, bias: b, outFeatures: outFeatures, into: &y)
        #expect(Self.maxError(y, expected) < 1e-4)
        // y += x·Wᵀ + b starting from a residual r
        let r = Self.random(rows * outFeatures, seed: 4)
        var accumulated = r
        GEMM.linear(
            x, rows: rows, inFeatures: inFeatures, weight: w, bias: b, outFeatures: outFeatures, into: &accumulated,
            accumulate: true)
        #expect(Self.maxError(accumulated, zip(expected, r).map { $0 + $1 }) < 1e-4)
    }

    @Test("layer norm, including rows whose length is not a multiple of 8", arguments: [768, 37])
    func layerNorm(dim: Int) {
        let rows = 5
        let x = Self.random(rows * dim, seed: 5, scale: 3).enumerated().map { $0.element + Float($0.offset % 7) }
        let gamma = Self.random(dim, seed: 6)
        let beta = Self.random(dim, seed: 7)
        let expected = Reference.layerNorm(x, dim: dim, gamma: gamma, beta: beta, eps: 1e-5)
        var y = [Float](repeating: 0, count: x.count)
        LayerNorm.forward(x, into: &y, rows: rows, dim: dim, gamma: gamma, beta: beta, eps: 1e-5)
        #expect(Self.maxError(y, expected) < 1e-4)
    }

    @Test("activations over the range CLIP's MLPs see", arguments: Activation.allCases)
    func activations(activation: Activation) {
        var x = Self.random(40_003, seed: 8, scale: 12)
        x += [0, -0.0, 1e-8, -100, 100, 87, -87, 90, -90]
        let expected = Reference.activate(x, activation)
        var y = x
        y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
        #expect(Self.maxError(y, expected) < 2e-6 * 12)
        #expect(y.allSatisfy { $0.isFinite })
    }

    @Test("attention, bidirectional and causal, on strided q/k/v", arguments: [false, true])
    func attention(causal: Bool) {
        let (batch, seq, heads, headDim) = (2, 13, 3, 16)
        let width = heads * headDim
        // One fused buffer (rows, 3·width) like a QKV projection; q, k, v are column slices of it.
        let fused = Self.random(batch * seq * 3 * width, seed: 9, scale: 2)
        func slice(_ part: Int) -> [Float] {
            var columns: [Float] = []
            for r in 0..<(batch * seq) {
                let start = r * 3 * width + part * width
                columns += fused[start..<(start + width)]
            }
            return columns
        }
        let expected = Reference.attention(
            q: slice(0), k: slice(1), v: slice(2), batch: batch, seq: seq, heads: heads, headDim: headDim,
            causal: causal)
        var out = [Float](repeating: .nan, count: batch * seq * width)
        fused.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                Attention.forward(
                    q: f.baseAddress!, ldq: 3 * width, k: f.baseAddress! + width, ldk: 3 * width,
                    v: f.baseAddress! + 2 * width, ldv: 3 * width, into: o.baseAddress!, ldo: width, batch: batch,
                    seq: seq, heads: heads, headDim: headDim, causal: causal)
            }
        }
        #expect(Self.maxError(out, expected) < 1e-5)
    }

    @Test("L2 normalisation leaves zero rows alone")
    func normalize() {
        var x: [Float] = [3, 4, 0, 0, 0, 0]
        x.withUnsafeMutableBufferPointer { Elementwise.l2NormalizeRows($0.baseAddress!, rows: 3, dim: 2) }
        #expect(x == [0.6, 0.8, 0, 0, 0, 0])
    }
}
