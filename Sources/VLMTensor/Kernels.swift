import CVLMKernels

/// vlm-stream's own kernels (CVLMKernels: `linear`, attention heads, activations): which code they run.
public enum Kernels {
    /// The instruction set the fp32 `linear` kernel uses on the calling thread: "avx512f", "avx2+fma", or "portable"
    /// (no AVX2+FMA, another architecture, or portable kernels asked for by `ComputeOptions`).
    public static var isa: String { String(cString: vlm_kernels_isa()) }

    /// Bytes of packed input `linear` keeps in L2 per chunk of rows: half of this CPU's L2 per core.
    public static var l2Budget: Int { Int(vlm_linear_l2_budget()) }

    /// Runs `body` with the portable kernels, on the calling thread and the regions it starts, so tests and
    /// benchmarks can compare the two. Results agree within float rounding (the order of the sums differs).
    public static func usingPortable<R>(_ body: () throws -> R) rethrows -> R {
        let previous = vlm_kernels_set_choice(Int32(VLM_KERNELS_PORTABLE))
        defer { vlm_kernels_set_choice(previous) }
        return try body()
    }
}
