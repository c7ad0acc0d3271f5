/// The MLP activations CLIP checkpoints use (`hidden_act` in config.json).
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// `x · σ(1.702x)` (openai CLIP's `QuickGELU`).
    case quickGELU = "quick_gelu"
    /// Exact `0.5x(1 + erf(x/√2))` (`nn.GELU()`).
    case gelu = "gelu"
}

extension Activation {
    /// Applies the activation in place to `count` floats, split over the cores.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let p = SendablePointer(x)
        let act = self
        Parallel.forEachRange(count, grain: 1 << 14) { range in
            act.applySerial(p.base + range.lowerBound, count: range.count)
        }
    }

    /// Applies the activation in place on the calling thread.
    @inlinable
    public func applySerial(_ x: UnsafeMutablePointer<Float>, count: Int) {
        typealias V = VectorMath.V
        var i = 0
        switch self {
        case .quickGELU:
            while i + 8 <= count {
                let v = VectorMath.load(x + i)
                VectorMath.store(v / (V(repeating: 1) + VectorMath.exp(v * V(repeating: -1.702))), x + i)
                i += 8
            }
            while i < count {
                x[i] = Activation.quickGELU(x[i])
                i += 1
            }
        case .gelu:
            while i + 8 <= count {
                let v = VectorMath.load(x + i)
                let e = VectorMath.erf(v * V(repeating: 0.707_106_781_186_547_5))
                VectorMath.store(V(repeating: 0.5) * v * (V(repeating: 1) + e), x + i)
                i += 8
            }
            while i < count {
                x[i] = Activation.gelu(x[i])
                i += 1
            }
        }
    }

    // MARK: - Scalar references

    /// Reference `x · σ(1.702x)` with libm's `exp`.
    @inlinable
    public static func quickGELU(_ x: Float) -> Float { x / (1 + Float(exp(Double(-1.702 * x)))) }

    /// Reference `0.5x(1 + erf(x/√2))` with libm's `erf`.
    @inlinable
    public static func gelu(_ x: Float) -> Float { Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))) }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
