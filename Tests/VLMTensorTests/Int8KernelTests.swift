import CVLMKernels
import Testing

@testable import VLMTensor

/// The int8 linear (`vlm_linear_q8_packed`) against the exact integer reference, on every kernel this CPU has.
@Suite("Int8 linear kernel")
struct Int8KernelTests {
    /// An int8 weight holding exactly `values` (scale 1 per row), borrowed from `storage`.
    final class Storage {
        let values: UnsafeMutablePointer<Int8>
        init(_ v: [Int8]) {
            values = .allocate(capacity: v.count)
            values.initialize(from: v, count: v.count)
        }
        deinit { values.deallocate() }
    }

    static func weight(_ values: [Int8], out: Int, in inFeatures: Int) -> (QuantizedWeight, Storage) {
        let storage = Storage(values)
        let w = QuantizedWeight(
            borrowing: storage.values, outFeatures: out, inFeatures: inFeatures,
            scales: Tensor([Float](repeating: 1, count: out), shape: [out]), owner: storage)
        return (w, storage)
    }

    static func randomInt8(_ count: Int, seed: UInt64) -> [Int8] {
        KernelTests.random(count, seed: seed).map { Int8(max(-128, min(127, Int(($0 * 128).rounded(.down))))) }
    }

    /// Kernel caps: portable, AVX2 (vpmaddwd), AVX-VNNI, AVX512-VNNI (each falls back to the best below it).
    static let kernels: [Int32] = [0, 1, 2, 3]

    static func capped<R>(_ level: Int32, _ body: () -> R) -> R {
        let previous = vlm_q8_limit_kernel(level)
        defer { vlm_q8_limit_kernel(previous) }
        return ComputeOptions(threads: 1).run(body)
    }

    @Test(
        "exact integer sums on random data, k with and without a tail",
        arguments: [(1, 32, 4), (5, 37, 7), (50, 768, 12), (13, 3072, 5)], kernels)
    func exactRandom(shape: (Int, Int, Int), kernels: Int32) {
        let (rows, k, out) = shape
        let x = KernelTests.random(rows * k, seed: 11, scale: 3)
        let values = Self.randomInt8(out * k, seed: 12)
        let (w, storage) = Self.weight(values, out: out, in: k)
        let (dots, scales, _) = Self.capped(kernels) {
            GEMM.int8Dots(x, rows: rows, inFeatures: k, weight: w)
        }
        withExtendedLifetime(storage) {}
        #expect(dots.map(Int64.init) == Reference.int8Dots(x, rows: rows, inFeatures: k, weight: values))
        for r in 0..<rows {
            #expect(scales[r] == Reference.quantizeRow(x[(r * k)..<((r + 1) * k)]).scale)
        }
    }

    /// Activations at ±127 (bytes 255 and 1) against weights at −128 and 127: every product is at the extreme,
    /// where `vpmaddubsw`'s 16-bit pair sums would saturate (2 · 255 · −128 = −65280).
    @Test("worst case: activations ±127 against weights −128 / 127", arguments: kernels)
    func worstCase(kernels: Int32) {
        let k = 3072 + 17
        let rows = 4
        // rows: all +1 (q = 127), all −1 (q = −127), alternating ±1, +1 with one −1
        var x = [Float](repeating: 1, count: k) + [Float](repeating: -1, count: k)
        x += (0..<k).map { $0 % 2 == 0 ? 1 : -1 }
        x += (0..<k).map { $0 == 5 ? -1 : 1 }
        let values: [Int8] =
            [Int8](repeating: -128, count: k) + [Int8](repeating: 127, count: k)
            + (0..<k).map { $0 % 2 == 0 ? -128 : 127 }
        let (w, storage) = Self.weight(values, out: 3, in: k)
        let (dots, _, _) = Self.capped(kernels) {
            GEMM.int8Dots(x, rows: rows, inFeatures: k, weight: w)
        }
        withExtendedLifetime(storage) {}
        let expected = Reference.int8Dots(x, rows: rows, inFeatures: k, weight: values)
        #expect(dots.map(Int64.init) == expected)
        #expect(expected[0] == Int64(127 * -128 * k))
        #expect(expected[1 * 3 + 0] == Int64(127 * 128 * k))
    }

    @Test(
        "zero points: exact integer sums, scales and zero points as the reference, on every kernel",
        arguments: [(5, 37, 7), (13, 3072, 5)], kernels)
    func exactZeroPoints(shape: (Int, Int, Int), kernels: Int32) {
        let (rows, k, out) = shape
        // One-sided rows (GELU-like: mostly positive), mixed rows, an all-zero row.
        var x = KernelTests.random(rows * k, seed: 31, scale: 3)
        for r in 0..<rows where r % 2 == 0 {
            for p in 0..<k { x[r * k + p] = max(-0.17, x[r * k + p]) }
        }
        for p in 0..<k { x[(rows - 1) * k + p] = 0 }
        let values = Self.randomInt8(out * k, seed: 32)
        let (w, storage) = Self.weight(values, out: out, in: k)
        let (dots, scales, zeros) = Self.capped(kernels) {
            GEMM.int8Dots(x, rows: rows, inFeatures: k, weight: w, zeroPoints: true)
        }
        withExtendedLifetime(storage) {}
        let expected = Reference.int8Dots(x, rows: rows, inFeatures: k, weight: values, zeroPoints: true)
        #expect(dots.map(Int64.init) == expected)
        for r in 0..<rows {
            let reference = Reference.quantizeRowZeroPoint(x[(r * k)..<((r + 1) * k)])
            #expect(scales[r] == reference.scale && Int(zeros[r]) == reference.zero)
        }
        #expect(zeros[0] < 20)  // a one-sided row spends almost all 255 steps on its positive side
    }

    /// The row scans (max |x|, and the range for zero points) run 32 floats at a time with AVX2: a NaN anywhere in
    /// a row, a −0, and the largest value in the vector part or in the tail give the scales, zero points and bytes
    /// of the portable scan.
    @Test("row scales and zero points: native scans equal the portable ones, NaN and −0 included")
    func rowScansMatchPortable() {
        let k = 3072 + 13
        var x = KernelTests.random(6 * k, seed: 41, scale: 2)
        x[3] = .nan  // row 0: a NaN among the vectors
        x[k + k - 2] = .nan  // row 1: a NaN in the tail
        x[k + k - 1] = 9  // row 1: its largest value in the tail
        for p in 0..<k { x[2 * k + p] = p % 3 == 0 ? -0.0 : abs(x[2 * k + p]) }  // row 2: ≥ 0 with −0s
        x[3 * k + 40] = -7  // row 3: its extreme in the vectors
        for p in 0..<k { x[4 * k + p] = -0.0 }  // row 4: all −0
        let values = Self.randomInt8(3 * k, seed: 42)
        let (w, storage) = Self.weight(values, out: 3, in: k)
        defer { withExtendedLifetime(storage) {} }
        for zeroPoints in [false, true] {
            let portable = Self.capped(0) {
                GEMM.int8Dots(x, rows: 6, inFeatures: k, weight: w, zeroPoints: zeroPoints)
            }
            let native = Self.capped(3) { GEMM.int8Dots(x, rows: 6, inFeatures: k, weight: w, zeroPoints: zeroPoints) }
            #expect(native.1.map(\.bitPattern) == portable.1.map(\.bitPattern), "scales, zero points \(zeroPoints)")
            #expect(native.2 == portable.2, "zero points")
            #expect(native.0 == portable.0, "integer sums, zero points \(zeroPoints)")
            if !zeroPoints {
                #expect(portable.1[1] == Float(9) / 127, "the tail's 9 sets row 1's scale; NaN passed over")
            }
        }
    }

    /// Bytes 0 and 255 against weights −128 and 127: the extreme products of the asymmetric scheme.
    @Test("zero points, worst case: bytes 0 / 255 against weights −128 / 127", arguments: kernels)
    func worstCaseZeroPoints(kernels: Int32) {
        let k = 3072 + 17
        // alternating ±1: lo −1, hi 1, zero 127 (1/scale rounds just under 127.5), bytes 0 and 254; all +1 with one
        // 0: zero 0, bytes 255 against −128
        let x = (0..<k).map { $0 % 2 == 0 ? Float(1) : -1 } + (0..<k).map { $0 == 3 ? Float(0) : 1 }
        let values: [Int8] = (0..<k).map { $0 % 2 == 0 ? 127 : -128 } + [Int8](repeating: -128, count: k)
        let (w, storage) = Self.weight(values, out: 2, in: k)
        let (dots, _, zeros) = Self.capped(kernels) {
            GEMM.int8Dots(x, rows: 2, inFeatures: k, weight: w, zeroPoints: true)
        }
        withExtendedLifetime(storage) {}
        #expect(zeros == [127, 0])
        #expect(dots.map(Int64.init) == Reference.int8Dots(x, rows: 2, inFeatures: k, weight: values, zeroPoints: true))
        #expect(dots[1 * 2 + 1] == Int32(255 * -128 * (k - 1)))
    }

    @Test(
        "float output: bias, residual add and activation, native equal to portable",
        arguments: [(3, 40, 9), (50, 768, 64)])
    func floatOutput(shape: (Int, Int, Int)) {
        let (rows, k, out) = shape
        let x = KernelTests.random(rows * k, seed: 21, scale: 2)
        let weight = Tensor(KernelTests.random(out * k, seed: 22, scale: 0.05), shape: [out, k])
        let q = QuantizedWeight(quantizing: weight)
        let bias = KernelTests.random(out, seed: 23)
        let residual = KernelTests.random(rows * out, seed: 24)
        // The float result is the exact integer sum scaled: compare with the dequantized reference.
        var qx: [Float] = []
        for r in 0..<rows {
            let (values, scale) = Reference.quantizeRow(x[(r * k)..<((r + 1) * k)])
            qx += values.map { Float($0) * scale }
        }
        let expected = Reference.linear(qx, rows: rows, inFeatures: k, weight: q.dequantized(), bias: bias)
        func run(_ kernels: ComputeOptions.Kernels, accumulate: Bool, activation: Activation?) -> [Float] {
            var y = accumulate ? residual : [Float](repeating: 0, count: rows * out)
            ComputeOptions(threads: 2, kernels: kernels).run {
                bias.withUnsafeBufferPointer { b in
                    y.withUnsafeMutableBufferPointer { yp in
                        GEMM.linearInt8(
                            x, rows: rows, inFeatures: k,
                            outputs: [
                                GEMM.Int8Output(
                                    weight: q, bias: b.baseAddress, into: yp.baseAddress!, accumulate: accumulate,
                                    activation: activation)
                            ])
                    }
                }
            }
            return y
        }
        let plain = run(.native, accumulate: false, activation: nil)
        #expect(KernelTests.maxError(plain, expected) < 1e-4)
        #expect(plain == run(.portable, accumulate: false, activation: nil))
        let added = run(.native, accumulate: true, activation: nil)
        #expect(KernelTests.maxError(added, zip(expected, residual).map { $0 + $1 }) < 1e-4)
        let activated = run(.native, accumulate: false, activation: .quickGELU)
        #expect(KernelTests.maxError(activated, Reference.activate(expected, .quickGELU)) < 1e-4)
        // And against the fp32 product: int8 error stays small relative to the output's spread.
        let fp32 = Reference.linear(
            x, rows: rows, inFeatures: k, weight: Array(UnsafeBufferPointer(start: weight.data, count: weight.count)),
            bias: bias)
        let spread = fp32.map { $0 * $0 }.reduce(0, +).squareRoot()
        let error = zip(plain, fp32).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        #expect(error / spread < 0.02)
    }

    /// The panel layout through the C API on every CPU: the panel kernel where the CPU has it (level 3) and the
    /// portable C over panels (level 0), against the integer reference; tails in rows (the 6-row tile), columns
    /// (the 64-column panel) and depth (the 4-byte group).
    @Test(
        "panels: exact integer sums, worst case included, on the panel kernel and the portable C",
        arguments: [(1, 1, 1), (7, 5, 65), (13, 37, 130), (6, 768, 64), (50, 3072 + 17, 70)], [Int32(0), 3])
    func panels(shape: (Int, Int, Int), level: Int32) {
        let (rows, k, out) = shape
        var x = KernelTests.random(rows * k, seed: 41, scale: 3)
        var values = Self.randomInt8(out * k, seed: 42)
        // The first row at +127 everywhere against a first weight row at −128: every product at the extreme.
        for p in 0..<k { x[p] = 1 }
        for p in 0..<k { values[p] = -128 }
        let panels = UnsafeMutableRawPointer.allocate(byteCount: max(64, vlm_q8_panel_bytes(out, k)), alignment: 64)
        defer { panels.deallocate() }
        let panel = panels.assumingMemoryBound(to: Int8.self)
        vlm_q8_pack_panels(values, k, out, k, panel)
        var unpacked = [Int8](repeating: 0, count: out * k)
        vlm_q8_unpack_panels(panel, out, k, &unpacked)
        #expect(unpacked == values)
        for zeroPoints in [false, true] {
            var packed = [UInt8](repeating: 0, count: vlm_q8_packed_bytes(rows, k))
            var scales = [Float](repeating: 0, count: rows)
            var zeros = [Int32](repeating: 128, count: rows)
            if zeroPoints {
                vlm_q8_pack_zp(x, k, rows, k, 0, rows, 1, &packed, &scales, &zeros)
            } else {
                vlm_q8_pack(x, k, rows, k, 0, rows, 1, &packed, &scales)
            }
            let sums = (0..<out).map { j in Int32(values[(j * k)..<((j + 1) * k)].reduce(0) { $0 + Int($1) }) }
            let ones = [Float](repeating: 1, count: out)
            var dots = [Int32](repeating: 0, count: rows * out)
            Self.capped(level) {
                // In two calls, as the workers split the columns: whole panels, then the rest.
                let split = min(out, Int(vlm_q8_panel_width()))
                for (n0, n1) in [(0, split), (split, out)] {
                    vlm_linear_q8_panels(
                        packed, scales, zeroPoints ? zeros : nil, rows, k, panel, ones, sums, out, nil, nil, &dots,
                        out, n0, n1, 0)
                }
            }
            let expected = Reference.int8Dots(x, rows: rows, inFeatures: k, weight: values, zeroPoints: zeroPoints)
            #expect(dots.map(Int64.init) == expected)
            if !zeroPoints { #expect(expected[0] == Int64(127 * -128 * k)) }
        }
    }

    @Test("a weight quantized at load holds the values the reference quantizes to, in either layout")
    func quantizedValues() {
        let (out, k) = (70, 37)
        let weight = Tensor(KernelTests.random(out * k, seed: 51), shape: [out, k])
        let q = QuantizedWeight(quantizing: weight)
        #expect(q.rowMajor == nil || vlm_q8_cpu_has_panels() == 0)
        for j in 0..<out {
            let row = Array(UnsafeBufferPointer(start: weight.data + j * k, count: k))
            let maxabs = row.map { abs($0) }.max()!
            #expect(q.scales.data[j] == maxabs / 127)
            let expected = row.map { Int8(max(-127, min(127, ($0 * (127 / maxabs)).rounded(.toNearestOrEven)))) }
            #expect(Array(q.values[(j * k)..<((j + 1) * k)]) == expected)
            #expect(q.sums[j] == Int32(expected.reduce(0) { $0 + Int($1) }))
        }
    }

    @Test("the int8 kernel names its instruction set")
    func isa() {
        let native = String(cString: ComputeOptions(kernels: .native).run { vlm_q8_isa() })
        #expect(["avx512-vnni", "avx-vnni", "avx2", "portable"].contains(native))
        #expect(String(cString: ComputeOptions(kernels: .portable).run { vlm_q8_isa() }) == "portable")
    }
}
