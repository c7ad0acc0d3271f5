import Testing
import VLMIndex

@Suite("fp16 conversion")
struct HalfTests {
    @Test("known bit patterns")
    func knownValues() {
        #expect(Half.bits(1) == 0x3c00)
        #expect(Half.bits(-2) == 0xc000)
        #expect(Half.bits(0.5) == 0x3800)
        #expect(Half.bits(65504) == 0x7bff)
        #expect(Half.bits(1e6) == 0x7c00)  // overflow → +Inf
        #expect(Half.bits(5.960_464_5e-8) == 0x0001)  // smallest subnormal
        #expect(Half.bits(0) == 0 && Half.bits(-0.0) == 0x8000)
        #expect(Half.bits(.nan) & 0x7c00 == 0x7c00 && Half.bits(.nan) & 0x03ff != 0)
        #expect(Half.float(0x3c00) == 1 && Half.float(0xc000) == -2 && Half.float(0x0001) == 5.960_464_5e-8)
        #expect(Half.float(0x7c00) == .infinity && Half.float(0x7e00).isNaN)
    }

    @Test("round to nearest even, round trip within half an ulp")
    func roundTrip() {
        // 1 + 2^-11 is exactly between 1 and the next fp16 (1 + 2^-10): ties to even → 1.
        #expect(Half.bits(1 + 0.000_488_281_25) == 0x3c00)
        #expect(Half.bits(1 + 3 * 0.000_488_281_25) == 0x3c02)
        var generator = SystemRandomNumberGenerator()
        let values = (0..<20_000).map { _ in Float.random(in: -1...1, using: &generator) * 0.3 }
        var bits: [UInt16] = []
        Half.narrow(values, appendingTo: &bits)
        var back = [Float](repeating: 0, count: values.count)
        bits.withUnsafeBufferPointer { src in back.withUnsafeMutableBufferPointer { Half.widen(src, into: $0) } }
        for (v, w) in zip(values, back) {
            let ulp = max(abs(v), 6.1e-5).ulp * Float(1 << 13)  // fp16 has 13 fewer mantissa bits
            #expect(abs(v - w) <= ulp / 2 + 6e-8, "\(v) → \(w)")
        }
        #if !(os(macOS) && arch(x86_64))
            for v in values.prefix(2000) { #expect(Half.bits(v) == Float16(v).bitPattern) }
        #endif
    }
}
