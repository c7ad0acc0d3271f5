import CVLMKernels
import Dispatch

/// Splits work over the cores on a small fork-join pool (`vlm_parallel_for` in CVLMKernels), whose workers spin
/// briefly between regions instead of being woken through the kernel for each one: +8–15 % at batch 1 on the
/// 2-core machine, and steadier. A region that finds the pool busy (another encoder thread's) uses libdispatch.
///
/// Regions do not nest: inside a region's body (on any of its threads), `forEachRange` and `forEachIndex` run
/// serially on the calling thread, so splitting a batch over the workers makes each part single-threaded.
///
/// How many workers a region gets is the caller's choice, not a process-wide setting: `ComputeOptions.run` sets it
/// for the calling thread (an encoder worker, a benchmark); without one, regions use every active core. The
/// caller's kernel choice travels with the region to every thread that runs part of it.
public enum Parallel {
    /// Workers a region started on this thread uses at the top level: the `ComputeOptions` this thread runs under,
    /// else the active cores.
    public static var workers: Int {
        let value = Int(bitPattern: pthread_getspecific(threadsKey))
        return value > 0 ? value : max(1, System.activeProcessorCount)
    }

    /// The workers a region started on this thread would get: 1 inside another region's body, else `workers`.
    public static var available: Int { isNested ? 1 : workers }

    /// Sets this thread's workers (0: the default); returns the previous raw value. For `ComputeOptions.run`.
    @discardableResult
    static func setThreads(_ threads: Int) -> Int {
        let previous = Int(bitPattern: pthread_getspecific(threadsKey))
        pthread_setspecific(threadsKey, UnsafeRawPointer(bitPattern: threads))
        return previous
    }

    /// Calls `body` with disjoint ranges covering `0..<count`, in parallel when the work is large enough.
    /// `grain` is the smallest range worth a thread.
    public static func forEachRange(_ count: Int, grain: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let workers = available
        // A few chunks per worker, claimed dynamically, so one descheduled thread does not hold up the rest.
        let chunks = min(workers == 1 ? 1 : workers * 3, max(1, count / max(grain, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        run(chunks, workers: workers) { c in body((count * c / chunks)..<(count * (c + 1) / chunks)) }
    }

    /// Calls `body(i)` for every i in `0..<count` on the workers, each index exactly once.
    public static func forEachIndex(_ count: Int, _ body: @Sendable (Int) -> Void) {
        let workers = available
        if workers == 1 || count <= 1 {
            for i in 0..<count { body(i) }
        } else {
            run(count, workers: workers, body)
        }
    }

    /// Splits `0..<count` into one contiguous part per available worker, calls `body` on the parts in parallel (each
    /// part single-threaded, as regions do not nest), and returns their results concatenated in order. With one
    /// worker or one item it is just `body(0..<count)` on the calling thread.
    public static func mapParts<T>(_ count: Int, _ body: @Sendable (Range<Int>) -> [T]) -> [T] {
        let parts = min(count, available)
        if parts <= 1 { return body(0..<count) }
        let results = UnsafeMutableBufferPointer<[T]>.allocate(capacity: parts)
        results.initialize(repeating: [])
        defer {
            results.baseAddress!.deinitialize(count: parts)
            results.deallocate()
        }
        let shared = SendablePointer(results.baseAddress!)  // part p writes element p only
        forEachIndex(parts) { part in shared.base[part] = body((count * part / parts)..<(count * (part + 1) / parts)) }
        return results.flatMap { $0 }
    }

    /// The closure a region's threads call and the caller's kernel choice, passed to C by address.
    private struct Task {
        let body: (Int) -> Void
        let choice: Int32
    }

    /// On the pool; while another thread's region holds it, on libdispatch's threads instead.
    private static func run(_ count: Int, workers: Int, _ body: @Sendable (Int) -> Void) {
        // The caller's kernel choice (read by setting it back unchanged), applied on every thread of the region.
        let choice = vlm_kernels_set_choice(0)
        vlm_kernels_set_choice(choice)
        let ran = withoutActuallyEscaping(body) { body in
            var task = Task(body: body, choice: choice)
            return withUnsafeMutablePointer(to: &task) { pointer in
                vlm_parallel_for(
                    count, Int32(min(workers, 64)),
                    { context, index in
                        let task = context!.assumingMemoryBound(to: Task.self)
                        Parallel.nested(choice: task.pointee.choice) { task.pointee.body(index) }
                    }, pointer)
            }
        }
        if ran == 0 {
            DispatchQueue.concurrentPerform(iterations: count) { i in nested(choice: choice) { body(i) } }
        }
    }

    /// True while this thread runs a region's body.
    private static var isNested: Bool { pthread_getspecific(nestingKey) != nil }

    /// Runs `body` marked as inside a region with the region's kernel choice, restoring both after (the caller's
    /// thread runs iterations too).
    fileprivate static func nested(choice: Int32, _ body: () -> Void) {
        let previous = pthread_getspecific(nestingKey)
        let previousChoice = vlm_kernels_set_choice(choice)
        pthread_setspecific(nestingKey, UnsafeRawPointer(bitPattern: 1))  // any non-nil value
        body()
        pthread_setspecific(nestingKey, previous)
        vlm_kernels_set_choice(previousChoice)
    }

    private static let threadsKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "Parallel: pthread_key_create failed")
        return key
    }()

    private static let nestingKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "Parallel: pthread_key_create failed")
        return key
    }()
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
