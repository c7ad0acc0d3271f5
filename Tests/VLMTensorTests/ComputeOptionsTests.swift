import Foundation
import Testing
import VLMCore

@testable import VLMTensor

/// `ComputeOptions` are the caller's, not the process's: they apply inside `run` on the calling thread and on every
/// thread of the regions it starts, and another thread at the same time keeps its own.
@Suite("Compute options")
struct ComputeOptionsTests {
    @Test("threads apply inside run only, nest, and are restored")
    func threads() {
        let cores = max(1, System.activeProcessorCount)
        #expect(Parallel.workers == cores)
        ComputeOptions(threads: 3).run {
            #expect(Parallel.workers == 3 && Parallel.available == 3)
            ComputeOptions(threads: 1).run { #expect(Parallel.available == 1) }
            #expect(Parallel.workers == 3)
        }
        #expect(Parallel.workers == cores)
    }

    @Test("the kernel choice travels with a region to its threads; another caller keeps its own at the same time")
    func kernelsPerCaller() async {
        let native = Kernels.isa
        let seen = Locked<[String: Set<String>]>([:])
        await withTaskGroup(of: Void.self) { group in
            for kernels in ComputeOptions.Kernels.allCases {
                group.addTask {
                    ComputeOptions(threads: 2, kernels: kernels).run {
                        for _ in 0..<50 {
                            Parallel.forEachIndex(16) { _ in
                                let isa = Kernels.isa
                                seen.withLock { $0[kernels.rawValue, default: []].insert(isa) }
                            }
                        }
                    }
                }
            }
        }
        #expect(seen.current["portable"] == ["portable"])
        #expect(seen.current["native"] == [native])
        #expect(seen.current["avx2"] == [native == "portable" ? "portable" : "avx2+fma"])
        #expect(Kernels.isa == native)
        #expect(ComputeOptions(kernels: .portable).isa == "portable")
    }
}
