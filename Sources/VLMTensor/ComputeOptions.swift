import CVLMKernels

/// How the kernels run for one caller: how many threads its parallel regions use and which kernel code they run.
///
/// Nothing in VLMTensor reads a process-wide setting: a caller (an encoder worker, a benchmark) runs its work inside
/// `run(_:)`, which applies the options to the calling thread and to every thread of the regions it starts, and
/// restores the previous options after. Outside any `run`, regions use every core and the best kernels the CPU has.
public struct ComputeOptions: Sendable, Equatable {
    /// Which kernel code runs.
    public enum Kernels: String, Sendable, Equatable, CaseIterable {
        /// The best for this CPU: AVX-512 where its 512-bit FMAs run at full width, else AVX2+FMA where the CPU has
        /// it, else the portable C.
        case native
        /// The portable C on every CPU (for comparisons: results agree within float rounding).
        case portable
        /// AVX2+FMA even where AVX-512 is the native choice (for comparisons); the portable C without AVX2.
        case avx2

        /// The C kernels' value for this choice (`vlm_kernels_set_choice`).
        var choice: Int32 {
            switch self {
            case .native: Int32(VLM_KERNELS_NATIVE)
            case .portable: Int32(VLM_KERNELS_PORTABLE)
            case .avx2: Int32(VLM_KERNELS_AVX2)
            }
        }
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
        let previousChoice = vlm_kernels_set_choice(kernels.choice)
        defer {
            vlm_kernels_set_choice(previousChoice)
            Parallel.setThreads(previous)
        }
        return try body()
    }

    /// The instruction set these options' fp32 `linear` runs on this CPU: "avx512f", "avx2+fma" or "portable".
    public var isa: String { run { String(cString: vlm_kernels_isa()) } }

    /// The kernel of an image tower's blocks' fp32 linear layers: "avx512f panels" where their weights run repacked
    /// into panels (`FloatPanels`, any CPU with AVX-512F), else the in-place tile's `isa`.
    public var blockISA: String {
        run { vlm_panels_run() != 0 ? "avx512f panels" : String(cString: vlm_kernels_isa()) }
    }

    /// The int8 kernel these options run on this CPU: "avx512-vnni", "avx-vnni", "avx2" or "portable".
    public var int8ISA: String { run { String(cString: vlm_q8_isa()) } }
}
