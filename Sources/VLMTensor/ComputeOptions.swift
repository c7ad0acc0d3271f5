import CVLMKernels

/// How the kernels run for one caller: how many threads its parallel regions use and which kernel code they run.
///
/// Nothing in VLMTensor reads a process-wide setting: a caller (an encoder worker, a benchmark) runs its work inside
/// `run(_:)`, which applies the options to the calling thread and to every thread of the regions it starts, and
/// restores the previous options after. Outside any `run`, regions use every core and the best kernels the CPU has.
public struct ComputeOptions: Sendable, Equatable {
    /// Which kernel code runs.
    public enum Kernels: String, Sendable, Equatable, CaseIterable {
        /// AVX2+FMA where the CPU has it, else the portable C.
        case native
        /// The portable C on every CPU (for comparisons: results agree within float rounding).
        case portable
    }

    /// Threads a parallel region started by the caller may use (1: everything on the calling thread).
    public var threads: Int
    /// The kernel code.
    public var kernels: Kernels

    /// `threads` threads (default: the active cores) running `kernels`.
    public init(threads: Int = System.activeProcessorCount, kernels: Kernels = .native) {
        self.threads = max(1, threads)
        self.kernels = kernels
    }

    /// Runs `body` on the calling thread with these options; regions it starts use them on every thread.
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        let previous = Parallel.setThreads(threads)
        let previousPortable = vlm_kernels_set_portable(kernels == .portable ? 1 : 0)
        defer {
            vlm_kernels_set_portable(previousPortable)
            Parallel.setThreads(previous)
        }
        return try body()
    }

    /// The instruction set these options run on this CPU: "avx2+fma" or "portable".
    public var isa: String { run { String(cString: vlm_kernels_isa()) } }

    /// The int8 kernel these options run on this CPU: "avx512-vnni", "avx-vnni", "avx2" or "portable".
    public var int8ISA: String { run { String(cString: vlm_q8_isa()) } }
}
