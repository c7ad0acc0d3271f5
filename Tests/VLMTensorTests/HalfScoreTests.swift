import CVLMKernels
import Testing
import VLMCore
import VLMTensor

/// `GEMV.scoreRows(halves:…)`, the exact-search scoring over an index's fp16 rows, against naive dot products of the
/// widened values, on every kernel path (AVX2+F16C and portable C), one query and a batch, including column counts
/// that are not a multiple of the vector width and an odd number of rows.
@Suite("fp16 row scoring")
struct HalfScoreTests {
    /// A finite fp16 bit pattern in about ±2, with some subnormals and zeros.
    static func half(_ rng: inout SplitMix64) -> UInt16 {
        let bits = UInt16(truncatingIfNeeded: rng.next())
        let exponent = (bits >> 10) & 0x1f
        return exponent > 16 ? bits & 0xc3ff : bits  // keep |value| < 4: no Inf/NaN
    }

    static func widen(_ h: UInt16) -> Float {
        var out: Float = 0
        withUnsafePointer(to: h) { src in vlm_f16_widen(src, &out, 1) }
        return out
    }

    @Test(
        "scores equal naive dot products of the widened rows",
        arguments: ComputeOptions.Kernels.allCases, [(9_001, 512), (7, 37), (4_097 * 3, 16)])
    func matchesNaive(kernels: ComputeOptions.Kernels, shape: (rows: Int, cols: Int)) {
        var rng = SplitMix64(seed: UInt64(shape.rows * 31 + shape.cols))
        let (rows, cols) = shape
        let a = (0..<rows * cols).map { _ in Self.half(&rng) }
        let queries = (0..<3 * cols).map { _ in rng.nextUnitFloat() * 2 - 1 }
        var single = [Float](repeating: .nan, count: rows)
        var batch = [Float](repeating: .nan, count: 3 * rows)
        ComputeOptions(threads: 2, kernels: kernels).run {
            GEMV.scoreRows(halves: a, rows: rows, cols: cols, queries: queries, count: 1, into: &single)
            GEMV.scoreRows(halves: a, rows: rows, cols: cols, queries: queries, count: 3, into: &batch)
        }
        for r in stride(from: 0, to: rows, by: 13) {
            for q in 0..<3 {
                var naive: Double = 0
                var magnitude: Double = 0
                for j in 0..<cols {
                    let p = Double(Self.widen(a[r * cols + j])) * Double(queries[q * cols + j])
                    naive += p
                    magnitude += abs(p)
                }
                // float32 accumulation over `cols` terms: relative to the sum of magnitudes.
                let tolerance = 1e-6 * Double(cols).squareRoot() * max(magnitude, 1)
                #expect(abs(Double(batch[q * rows + r]) - naive) <= tolerance, "row \(r) query \(q)")
                if q == 0 { #expect(abs(Double(single[r]) - naive) <= tolerance, "row \(r)") }
            }
        }
    }

    @Test("widening is exact: every finite fp16 value and the specials, as VLMIndex's Half")
    func widenAll() {
        let all = (0...UInt16.max).map { $0 }
        var out = [Float](repeating: 0, count: all.count)
        vlm_f16_widen(all, &out, all.count)
        for h in all {
            let sign: Float = h & 0x8000 == 0 ? 1 : -1
            let exponent = Int((h >> 10) & 0x1f)
            let mantissa = Float(h & 0x3ff)
            let value = out[Int(h)]
            switch exponent {
            case 0: #expect(value == sign * mantissa * 0x1p-24)
            case 31: #expect(mantissa == 0 ? value == sign * .infinity : value.isNaN)
            default:
                #expect(
                    value == sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1))
            }
        }
    }
}
