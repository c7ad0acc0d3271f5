import CVLMKernels

/// The MLP activations CLIP checkpoints use (`hidden_act` in config.json).
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// `x · σ(1.702x)` (openai CLIP's `QuickGELU`).
    case quickGELU = "quick_gelu"
    /// Exact `0.5x(1 + erf(x/√2))` (`nn.GELU()`).
    case gelu = "gelu"
    /// `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))` (`nn.GELU(approximate="tanh")`, SigLIP's `gelu_pytorch_tanh`).
    case geluTanh = "gelu_pytorch_tanh"
}

extension Activation {
    /// Applies the activation in place to `count` floats on the calling thread (CVLMKernels: AVX2+FMA where the CPU
    /// has it). `GEMM.linear` applies it to each block of its output while the block is in cache.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let kind =
            switch self {
            case .quickGELU: VLM_QUICK_GELU
            case .gelu: VLM_GELU
            case .geluTanh: VLM_GELU_TANH
            }
        vlm_activation(x, count, Int32(kind))
    }

    // MARK: - Scalar references

    /// Reference `x · σ(1.702x)` with libm's `exp`.
    @inlinable
    public static func quickGELU(_ x: Float) -> Float { x / (1 + Float(exp(Double(-1.702 * x)))) }

    /// Reference `0.5x(1 + erf(x/√2))` with libm's `erf`.
    @inlinable
    public static func gelu(_ x: Float) -> Float { Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))) }

    /// Reference `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))` with libm's `tanh`.
    @inlinable
    public static func geluTanh(_ x: Float) -> Float {
        let v = Double(x)
        return Float(0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
