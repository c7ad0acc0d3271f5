// IEEE 754 binary16 ⇄ binary32 conversion on raw bit patterns, written so LLVM vectorises the loops.
//
// Swift's `Float16` is unavailable on macOS/x86_64 and converts one value at a time through compiler-rt; the index
// stores every embedding as fp16 and converts whole matrices at load time, so both directions live here.
// Algorithms: F. Giesen, "half_to_float_fast5" and "float_to_half_fast3_rtne" (public domain).

/// fp16 ⇄ fp32 conversion of buffers (round to nearest even; NaN and ±Inf preserved, subnormals exact).
public enum Half {
    // MARK: - fp16 → fp32

    /// Widens `source` (fp16 bit patterns) into `destination`; both must have the same count.
    @inlinable
    public static func widen(_ source: UnsafeBufferPointer<UInt16>, into destination: UnsafeMutableBufferPointer<Float>)
    {
        precondition(source.count == destination.count, "Half.widen: \(source.count) → \(destination.count)")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        // exponent adjust (2^112) and the smallest fp32 value that was Inf/NaN in fp16 (2^16)
        let magic = Float(bitPattern: UInt32(254 - 15) << 23)
        let wasInfNaN = Float(bitPattern: UInt32(127 + 16) << 23)
        for i in 0..<source.count {
            let h = UInt32(src[i])
            let scaled = Float(bitPattern: (h & 0x7fff) << 13) * magic
            let infNaN: UInt32 = scaled >= wasInfNaN ? 0x7f80_0000 : 0
            dst[i] = Float(bitPattern: scaled.bitPattern | infNaN | (h & 0x8000) << 16)
        }
    }

    /// One fp16 bit pattern as a `Float`.
    @inlinable
    public static func float(_ bits: UInt16) -> Float {
        var out: Float = 0
        withUnsafePointer(to: bits) { src in
            withUnsafeMutablePointer(to: &out) { dst in
                widen(UnsafeBufferPointer(start: src, count: 1), into: UnsafeMutableBufferPointer(start: dst, count: 1))
            }
        }
        return out
    }

    // MARK: - fp32 → fp16

    /// The fp16 bit pattern nearest to `value` (ties to even; overflow gives ±Inf, NaN stays NaN).
    @inlinable
    public static func bits(_ value: Float) -> UInt16 {
        let f32Infinity: UInt32 = 255 << 23
        let f16Max: UInt32 = (127 + 16) << 23
        let denormMagic = Float(bitPattern: UInt32((127 - 15) + (23 - 10) + 1) << 23)
        var u = value.bitPattern
        let sign = u & 0x8000_0000
        u ^= sign
        var out: UInt32
        if u >= f16Max {
            out = u > f32Infinity ? 0x7e00 : 0x7c00
        } else if u < (113 << 23) {
            // subnormal or zero: align the 10 mantissa bits at the bottom with a magic add (rounds to nearest even)
            out = (Float(bitPattern: u) + denormMagic).bitPattern &- denormMagic.bitPattern
        } else {
            let mantissaOdd = (u >> 13) & 1
            u = u &+ UInt32(bitPattern: Int32((15 - 127) << 23)) &+ 0xfff &+ mantissaOdd
            out = u >> 13
        }
        return UInt16(truncatingIfNeeded: out | sign >> 16)
    }

    /// Narrows `source` into fp16 bit patterns appended to `destination`.
    @inlinable
    public static func narrow(_ source: [Float], appendingTo destination: inout [UInt16]) {
        destination.reserveCapacity(destination.count + source.count)
        for v in source { destination.append(bits(v)) }
    }
}
