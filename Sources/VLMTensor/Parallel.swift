import Dispatch

/// Splits element-wise work over the cores with `DispatchQueue.concurrentPerform`.
public enum Parallel {
    /// Workers for the element-wise kernels, attention and split GEMMs (default: the active cores). Set once at
    /// startup, before any encoding, as `bench encoder --threads` and the pipeline builder do.
    nonisolated(unsafe) public static var workers: Int = max(1, System.activeProcessorCount)

    /// Calls `body` with disjoint ranges covering `0..<count`, in parallel when the work is large enough.
    /// `grain` is the smallest range worth a thread.
    @inlinable
    public static func forEachRange(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> Void) {
        // A few chunks per worker, claimed dynamically, so one descheduled thread does not hold up the rest.
        let chunks = min(workers == 1 ? 1 : workers * 3, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lower = count * c / chunks
            let upper = count * (c + 1) / chunks
            body(lower..<upper)
        }
    }
}

extension Parallel {
    /// Calls `body(i)` for every i in `0..<count` on the workers, each index exactly once.
    @inlinable
    public static func forEachIndex(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if workers == 1 || count == 1 {
            for i in 0..<count { body(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }
}

/// The machine's processor count without Foundation.
public enum System {
    /// Online processors (`sysconf(_SC_NPROCESSORS_ONLN)`).
    public static var activeProcessorCount: Int {
        #if canImport(Glibc)
            return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
            return Int(sysconf(_SC_NPROCESSORS_ONLN))
        #endif
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
