/// Vectorised transcendental functions on `SIMD8<Float>` (no libm call per element), accurate to a few ulp.
public enum VectorMath {
    public typealias V = SIMD8<Float>

    /// eˣ (Cephes `expf` polynomial after range reduction x = n·ln2 + r; inputs clamped to ±88.3).
    @inlinable @inline(__always)
    public static func exp(_ x: V) -> V {
        var x = x.replacing(with: V(repeating: -87.3), where: x .< V(repeating: -87.3))
        x.replace(with: V(repeating: 88.3), where: x .> V(repeating: 88.3))
        // n = round(x / ln2) via the 1.5·2²³ trick, so the integer also sits in the low mantissa bits.
        let magic = V(repeating: 12_582_912)
        let t = x * V(repeating: 1.442_695_040_888_963_4) + magic
        let n = t - magic
        var r = x - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_150_0e-4)
        p = p * r + V(repeating: 1.398_199_950_7e-3)
        p = p * r + V(repeating: 8.333_451_907_3e-3)
        p = p * r + V(repeating: 4.166_579_589_4e-2)
        p = p * r + V(repeating: 1.666_666_545_9e-1)
        p = p * r + V(repeating: 5.000_000_120_1e-1)
        let y = p * (r * r) + r + V(repeating: 1)
        // 2ⁿ: (n + 127) << 23 as float bits; n is the integer in t's low mantissa bits.
        let tBits = unsafeBitCast(t, to: SIMD8<Int32>.self)
        let magicBits = unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scaleBits = (tBits &- magicBits &+ 127) &<< 23
        return y * unsafeBitCast(scaleBits, to: V.self)
    }

    /// erf(x) by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7).
    @inlinable @inline(__always)
    public static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = V(repeating: 1) / (V(repeating: 1) + V(repeating: 0.327_591_1) * a)
        var p = V(repeating: 1.061_405_429)
        p = p * t + V(repeating: -1.453_152_027)
        p = p * t + V(repeating: 1.421_413_741)
        p = p * t + V(repeating: -0.284_496_736)
        p = p * t + V(repeating: 0.254_829_592)
        let y = V(repeating: 1) - p * t * exp(-(a * a))
        return y.replacing(with: -y, where: x .< 0)
    }

    /// Loads 8 floats from `p` (no alignment needed).
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// Stores 8 floats to `p` (no alignment needed).
    @inlinable @inline(__always)
    public static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }
}
