import Testing

@testable import VLMTensor

/// The CVLMKernels code paths (native: AVX-512 or AVX2+FMA, whichever this CPU prefers; AVX2+FMA; the portable C)
/// against the naive references, on shapes that hit every edge: partial 3×4 and 4×6 tiles, k tails, several k-blocks,
/// k-slices, strided rows. A `ComputeOptions` choice applies to the calling thread and the regions it starts (see
/// ComputeOptionsTests).
@Suite("Native and portable kernels match the references", .serialized)
struct NativeKernelTests {
    static let variants = ComputeOptions.Kernels.allCases.map(\.rawValue)

    func run(_ variant: String, _ body: () -> Void) {
        ComputeOptions(kernels: ComputeOptions.Kernels(rawValue: variant) ?? .native).run(body)
    }

    /// x (rows × k) stored with row stride k + 3, y with row stride n + 2; the gaps must stay untouched.
    @Test(
        "linear: y = x·Wᵀ + b and y += x·Wᵀ + b on awkward shapes and strides",
        arguments: variants, [(1, 1, 1), (2, 5, 7), (4, 3, 9), (50, 64, 96), (13, 37, 1000), (300, 12, 3500)])
    func linear(variant: String, shape: (rows: Int, n: Int, k: Int)) {
        let (rows, n, k) = shape
        let (ldx, ldy) = (k + 3, n + 2)
        let x = KernelTests.random(rows * k, seed: 11)
        let w = KernelTests.random(n * k, seed: 12)
        let b = KernelTests.random(n, seed: 13)
        let r = KernelTests.random(rows * n, seed: 14)
        let expected = Reference.linear(x, rows: rows, inFeatures: k, weight: w, bias: b)
        var stridedX = [Float](repeating: .nan, count: rows * ldx)
        for i in 0..<rows { for p in 0..<k { stridedX[i * ldx + p] = x[i * k + p] } }
        for accumulate in [false, true] {
            var y = [Float](repeating: -7, count: rows * ldy)
            if accumulate { for i in 0..<rows { for j in 0..<n { y[i * ldy + j] = r[i * n + j] } } }
            run(variant) {
                GEMM.linear(
                    stridedX, rows: rows, inFeatures: k, ldx: ldx, weight: w, bias: b, outFeatures: n, into: &y,
                    ldy: ldy, accumulate: accumulate)
            }
            var error: Float = 0
            for i in 0..<rows {
                for j in 0..<n {
                    let want = expected[i * n + j] + (accumulate ? r[i * n + j] : 0)
                    error = max(error, abs(y[i * ldy + j] - want))
                }
                #expect(y[(i * ldy + n)..<((i + 1) * ldy)].allSatisfy { $0 == -7 }, "row \(i) gap overwritten")
            }
            #expect(error < 1e-5 * Float(k).squareRoot() * 4, "\(variant) \(shape) accumulate \(accumulate)")
        }
    }

    /// Weights in panels (`FloatPanels`, `vlm_linear_panels`): the AVX-512 assembly where this CPU and the native
    /// choice run it, the portable C otherwise. Partial tiles of 1–11 rows, a last panel of fewer than 32 columns,
    /// k tails of both parities and several k-blocks of 256, x and y strided, and (the last shape, 2 threads) column
    /// blocks split over workers. Against the float64 reference within 4e-5·√k, and the assembly against the C, which
    /// does the same FMAs in the same order, bit for bit.
    @Test(
        "panels: y = x·Wᵀ + b and y += x·Wᵀ + b over weights in panels; assembly and C agree bit for bit",
        arguments: [(1, 1, 1), (12, 32, 8), (13, 33, 7), (50, 100, 768), (25, 64, 257), (11, 31, 300), (300, 70, 513)])
    func panels(shape: (rows: Int, n: Int, k: Int)) {
        let (rows, n, k) = shape
        let (ldx, ldy) = (k + 3, n + 2)
        let x = KernelTests.random(rows * ldx, seed: 81)
        let weight = Tensor(KernelTests.random(n * k, seed: 82), shape: [n, k])
        let bias = Tensor(KernelTests.random(n, seed: 83), shape: [n])
        let b = bias.values
        let start = KernelTests.random(rows * ldy, seed: 84)
        let panels = FloatPanels(weight)
        #expect(panels.panels() == panels.panels(), "packed once")
        for accumulate in [false, true] {
            var results: [[Float]] = []
            for variant in ["native", "portable"] {
                var y = start
                ComputeOptions(threads: 2, kernels: ComputeOptions.Kernels(rawValue: variant)!).run {
                    y.withUnsafeMutableBufferPointer { py in
                        GEMM.linear(
                            x, rows: rows, inFeatures: k, ldx: ldx,
                            outputs: [
                                GEMM.LinearOutput(
                                    weight: weight.data, panels: panels.panels(), bias: bias.data, outFeatures: n,
                                    into: py.baseAddress!, ldy: ldy, accumulate: accumulate)
                            ])
                    }
                }
                results.append(y)
            }
            #expect(results[0] == results[1], "\(shape) accumulate \(accumulate): assembly and C differ")
            var error: Double = 0
            for i in 0..<rows {
                for j in 0..<ldy {
                    guard j < n else {
                        #expect(results[0][i * ldy + j] == start[i * ldy + j], "row \(i) gap overwritten")
                        continue
                    }
                    var want = Double(b[j]) + (accumulate ? Double(start[i * ldy + j]) : 0)
                    for p in 0..<k { want += Double(x[i * ldx + p]) * Double(weight.data[j * k + p]) }
                    error = max(error, abs(Double(results[0][i * ldy + j]) - want))
                }
            }
            #expect(error < 4e-5 * Double(k).squareRoot(), "\(shape) accumulate \(accumulate)")
        }
    }

    /// `GEMM.NarrowProduct` (`vlm_linear_narrow`): y += x·Wᵀ over a few input columns, on columns [n0, n1) only,
    /// with strided x and y; more than 64 input columns go 64 at a time.
    @Test(
        "narrow products: y += x·Wᵀ over a few input columns, on a range of outputs",
        arguments: variants,
        [
            (1, 4, 64, 0, 64), (2, 4, 200, 64, 195), (7, 48, 130, 0, 130), (3, 64, 65, 1, 65),
            (5, 130, 128, 0, 128), (50, 1, 768, 128, 640),
        ])
    func narrow(variant: String, shape: (rows: Int, c: Int, n: Int, n0: Int, n1: Int)) {
        let (rows, c, n, n0, n1) = shape
        let (ldx, ldy) = (c + 2, n + 3)
        let x = KernelTests.random(rows * ldx, seed: 71)
        let w = KernelTests.random(n * c, seed: 72)
        let start = KernelTests.random(rows * ldy, seed: 73)
        var y = start
        run(variant) {
            x.withUnsafeBufferPointer { px in
                w.withUnsafeBufferPointer { pw in
                    y.withUnsafeMutableBufferPointer { py in
                        GEMM.NarrowProduct(x: px.baseAddress!, ldx: ldx, columns: c, weight: pw.baseAddress!)
                            .add(rows: rows, into: py.baseAddress!, ldy: ldy, outputs: n0..<n1)
                    }
                }
            }
        }
        var error: Float = 0
        for i in 0..<rows {
            for j in 0..<ldy {
                guard (n0..<n1).contains(j) else {
                    #expect(y[i * ldy + j] == start[i * ldy + j], "row \(i) column \(j) outside the range changed")
                    continue
                }
                let sum = (0..<c).reduce(Double(start[i * ldy + j])) { $0 + Double(x[i * ldx + $1] * w[j * c + $1]) }
                error = max(error, abs(y[i * ldy + j] - Float(sum)))
            }
        }
        #expect(error < 1e-5 * Float(c).squareRoot() * 4, "\(variant) \(shape)")
    }

    /// A checkpoint's last tensor ends where the mapping ends, so the kernel must not read past W even when k is not
    /// a multiple of the vector width: W is placed so that it ends right at a PROT_NONE page.
    @Test("linear never reads past the end of the weights", arguments: variants)
    func guardPage(variant: String) throws {
        let (rows, n, k) = (5, 6, 13)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(mapping != MAP_FAILED)
        defer { munmap(mapping, 2 * page) }
        #expect(mprotect(mapping + page, page, PROT_NONE) == 0)
        let w = (mapping + page).assumingMemoryBound(to: Float.self) - n * k
        let values = KernelTests.random(n * k, seed: 61)
        w.update(from: values, count: n * k)
        let x = KernelTests.random(rows * k, seed: 62)
        var y = [Float](repeating: 0, count: rows * n)
        run(variant) { GEMM.linear(x, rows: rows, inFeatures: k, weight: w, bias: nil, outFeatures: n, into: &y) }
        let expected = Reference.linear(x, rows: rows, inFeatures: k, weight: values, bias: nil)
        #expect(KernelTests.maxError(y, expected) < 1e-5)
    }

    @Test("linear: several outputs over one packed input, one with an activation", arguments: variants)
    func outputs(variant: String) {
        let (rows, k) = (29, 70)
        let x = KernelTests.random(rows * k, seed: 21)
        let (w1, w2) = (KernelTests.random(17 * k, seed: 22), KernelTests.random(40 * k, seed: 23))
        let b2 = KernelTests.random(40, seed: 24)
        var y1 = [Float](repeating: 0, count: rows * 17)
        var y2 = [Float](repeating: 0, count: rows * 40)
        run(variant) {
            x.withUnsafeBufferPointer { px in
                w1.withUnsafeBufferPointer { pw1 in
                    w2.withUnsafeBufferPointer { pw2 in
                        b2.withUnsafeBufferPointer { pb2 in
                            y1.withUnsafeMutableBufferPointer { py1 in
                                y2.withUnsafeMutableBufferPointer { py2 in
                                    GEMM.linear(
                                        px.baseAddress!, rows: rows, inFeatures: k,
                                        outputs: [
                                            .init(
                                                weight: pw1.baseAddress!, bias: nil, outFeatures: 17,
                                                into: py1.baseAddress!),
                                            .init(
                                                weight: pw2.baseAddress!, bias: pb2.baseAddress!, outFeatures: 40,
                                                into: py2.baseAddress!, activation: .gelu),
                                        ])
                                }
                            }
                        }
                    }
                }
            }
        }
        let expected1 = Reference.linear(x, rows: rows, inFeatures: k, weight: w1, bias: nil)
        let expected2 = Reference.activate(
            Reference.linear(x, rows: rows, inFeatures: k, weight: w2, bias: b2), .gelu)
        #expect(KernelTests.maxError(y1, expected1) < 1e-4)
        #expect(KernelTests.maxError(y2, expected2) < 1e-4)
    }

    @Test(
        "attention heads: CLIP's and SigLIP's shapes (50/196 image tokens, 77 text tokens, head 64 or 72) and odd ones",
        arguments: variants,
        [
            (13, 16, false), (13, 16, true), (50, 64, false), (77, 64, true), (9, 40, true), (196, 64, false),
            (37, 72, false), (33, 72, true), (5, 8, true), (1, 64, false), (11, 12, true), (7, 36, false),
        ])
    func attention(variant: String, shape: (seq: Int, headDim: Int, causal: Bool)) {
        let (batch, heads) = (2, 3)
        let width = heads * shape.headDim
        let rows = batch * shape.seq
        let (q, k, v) = (
            KernelTests.random(rows * width, seed: 31, scale: 2), KernelTests.random(rows * width, seed: 32, scale: 2),
            KernelTests.random(rows * width, seed: 33)
        )
        let expected = Reference.attention(
            q: q, k: k, v: v, batch: batch, seq: shape.seq, heads: heads, headDim: shape.headDim,
            causal: shape.causal)
        var out = [Float](repeating: .nan, count: rows * width)
        run(variant) {
            Attention.forward(
                q: q, ldq: width, k: k, ldk: width, v: v, ldv: width, into: &out, ldo: width, batch: batch,
                seq: shape.seq, heads: heads, headDim: shape.headDim, causal: shape.causal)
        }
        #expect(KernelTests.maxError(out, expected) < 1e-5, "\(variant) \(shape)")
    }

    @Test("pooled attention equals the full attention's row", arguments: [false, true])
    func pooledAttention(causal: Bool) {
        let (batch, seq, heads, headDim) = (3, 11, 2, 24)
        let width = heads * headDim
        let (q, k, v) = (
            KernelTests.random(batch * seq * width, seed: 41, scale: 2),
            KernelTests.random(batch * seq * width, seed: 42, scale: 2),
            KernelTests.random(batch * seq * width, seed: 43)
        )
        let positions = [0, 5, 10]
        var full = [Float](repeating: .nan, count: batch * seq * width)
        Attention.forward(
            q: q, ldq: width, k: k, ldk: width, v: v, ldv: width, into: &full, ldo: width, batch: batch, seq: seq,
            heads: heads, headDim: headDim, causal: causal)
        var pickedQ: [Float] = []
        var wanted: [Float] = []
        for (b, position) in positions.enumerated() {
            let row = (b * seq + position) * width
            pickedQ += q[row..<(row + width)]
            wanted += full[row..<(row + width)]
        }
        var pooled = [Float](repeating: .nan, count: batch * width)
        Attention.pooled(
            q: pickedQ, ldq: width, positions: positions, k: k, ldk: width, v: v, ldv: width, into: &pooled,
            ldo: width, seq: seq, heads: heads, headDim: headDim, causal: causal)
        #expect(KernelTests.maxError(pooled, wanted) < 1e-5)
    }

    /// Extra value columns (an int8 block's carried outlier channels) take each head's probabilities: the same as
    /// attention over a v whose head slices hold them, in the full and the pooled attention, on every kernel.
    /// Head sizes with and without a last partial vector, and more columns than one block of 32 with them.
    @Test(
        "extra value columns take each head's attention probabilities",
        arguments: variants, [(false, 16, 3), (true, 16, 3), (true, 44, 37), (false, 12, 5)])
    func extraValues(variant: String, shape: (causal: Bool, headDim: Int, columns: Int)) {
        let (batch, seq, heads) = (2, 13, 3)
        let (causal, headDim, columns) = shape
        let width = heads * headDim
        let (q, k) = (
            KernelTests.random(batch * seq * width, seed: 61, scale: 2),
            KernelTests.random(batch * seq * width, seed: 62, scale: 2)
        )
        let extra = KernelTests.random(batch * seq * columns, seed: 63, scale: 3)
        // Reference: v with the extra columns at the start of every head's slice, zeros after.
        var v = [Float](repeating: 0, count: batch * seq * width)
        for r in 0..<(batch * seq) {
            for h in 0..<heads {
                for c in 0..<columns { v[r * width + h * headDim + c] = extra[r * columns + c] }
            }
        }
        var full = [Float](repeating: .nan, count: batch * seq * width)
        run(variant) {
            Attention.forward(
                q: q, ldq: width, k: k, ldk: width, v: v, ldv: width, into: &full, ldo: width, batch: batch, seq: seq,
                heads: heads, headDim: headDim, causal: causal)
        }
        func expected(_ row: Int) -> [Float] {
            (0..<heads).flatMap { h in (0..<columns).map { full[row * width + h * headDim + $0] } }
        }
        var out = [Float](repeating: .nan, count: batch * seq * width)
        var results = [Float](repeating: .nan, count: batch * seq * heads * columns)
        extra.withUnsafeBufferPointer { values in
            results.withUnsafeMutableBufferPointer { results in
                let carried = Attention.ExtraValues(
                    values: values.baseAddress!, ldv: columns, columns: columns, output: results.baseAddress!,
                    ldo: heads * columns)
                run(variant) {
                    Attention.forward(
                        q: q, ldq: width, k: k, ldk: width, v: v, ldv: width, into: &out, ldo: width, batch: batch,
                        seq: seq, heads: heads, headDim: headDim, causal: causal, extra: carried)
                }
            }
        }
        #expect(KernelTests.maxError(out, full) == 0, "\(variant): the main output is unchanged")
        #expect(KernelTests.maxError(results, (0..<(batch * seq)).flatMap(expected)) < 1e-5, "\(variant)")
        // Pooled: one query row per sequence.
        let positions = [4, 12]
        let pickedQ = positions.enumerated().flatMap { b, p in q[((b * seq + p) * width)..<((b * seq + p + 1) * width)]
        }
        var pooled = [Float](repeating: .nan, count: batch * width)
        var pooledResults = [Float](repeating: .nan, count: batch * heads * columns)
        extra.withUnsafeBufferPointer { values in
            pooledResults.withUnsafeMutableBufferPointer { results in
                Attention.pooled(
                    q: pickedQ, ldq: width, positions: positions, k: k, ldk: width, v: v, ldv: width, into: &pooled,
                    ldo: width, seq: seq, heads: heads, headDim: headDim, causal: causal,
                    extra: Attention.ExtraValues(
                        values: values.baseAddress!, ldv: columns, columns: columns, output: results.baseAddress!,
                        ldo: heads * columns))
            }
        }
        let wanted = positions.enumerated().flatMap { b, p in expected(b * seq + p) }
        #expect(KernelTests.maxError(pooledResults, wanted) < 1e-5)
    }

    @Test("activations", arguments: variants, Activation.allCases)
    func activations(variant: String, activation: Activation) {
        var x = KernelTests.random(1003, seed: 51, scale: 12) + [0, -0.0, 1e-8, -100, 100, 87, -87, 90, -90]
        let expected = Reference.activate(x, activation)
        run(variant) { x.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) } }
        #expect(KernelTests.maxError(x, expected) < 2e-6 * 12)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
