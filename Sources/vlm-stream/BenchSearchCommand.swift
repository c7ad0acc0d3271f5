import ArgumentParser
import Foundation
import VLMCore
import VLMIndex
import VLMTensor

/// `vlm-stream bench search`: exact-search latency over synthetic indexes of growing size.
struct BenchSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Index synthetic embeddings and time exact search (fp16 scan + heap top-K + moment merging).",
        discussion: """
            For each size, writes an index of random unit vectors (fp16 chunks, 10,000-frame videos at 1 fps) to a
            temporary SQLite file, loads it into an fp16 matrix (the stored form), then times queries with random unit
            vectors: scoring (one pass over the matrix, widened while multiplied), top-K, and the whole search.
            Prints medians and 90th percentiles over --queries queries. Build with `-c release`.

            With --db postgres://…, the index is in PostgreSQL and search runs from a local memory-mapped copy of
            its embeddings (in --dir, removed afterwards): "load" is the first copy of everything new, and a second
            line per size shows what a later `search` pays: reopening the caught-up copy, and catching up after one
            new 256-frame video.
            """
    )

    @Option(name: .long, parsing: .upToNextOption, help: "Stored frame counts to measure.")
    var frames: [Int] = [10_000, 100_000, 1_000_000]

    @Option(help: "Embedding dimension (512 for ViT-B/32).")
    var dim: Int = 512

    @Option(help: "Timed queries per size.")
    var queries: Int = 30

    @Option(help: "Moments per query.")
    var top: Int = 10

    @Option(help: "Queries per sgemm in the batched measurement.")
    var batch: Int = 16

    @Option(
        help: """
            Store the synthetic index in this empty PostgreSQL database (postgres://…) instead of temporary SQLite \
            files; sizes accumulate (each --frames value adds the frames up to it).
            """)
    var db: String?

    @Option(help: "Directory for the temporary index files (default: the system temporary directory).")
    var dir: String?

    func validate() throws {
        guard frames.allSatisfy({ $0 > 0 }), dim > 0, queries > 0, top > 0, batch > 0 else {
            throw ValidationError("--frames, --dim, --queries, --top and --batch must be positive numbers")
        }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: dir ?? FileManager.default.temporaryDirectory.path)
        print(
            "exact search, dimension \(dim), \(queries) queries per size, top \(top), "
                + "batches of \(batch) per pass, threads \(Parallel.available)")
        print(Row.header)
        if let db {
            let copies = directory.appendingPathComponent("vlm-bench-copies-\(getpid())")
            defer { try? FileManager.default.removeItem(at: copies) }
            let index = try VideoIndex(path: db, create: true, localCopies: copies)
            var stored = try index.videos().reduce(0) { $0 + $1.frameCount }
            for n in frames.sorted() where n > stored {
                print(try measure(frames: n, index: index, adding: n - stored, seed: UInt64(n)).line)
                print(try measureCopy(db: db, copies: copies, frames: n, seed: UInt64(n)))
                stored = n + 256
            }
            return
        }
        for n in frames {
            let path = directory.appendingPathComponent("vlm-bench-search-\(n)-\(getpid()).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            print(try measure(frames: n, path: path).line)
        }
    }

    private func measure(frames n: Int, path: String) throws -> Row {
        try measure(frames: n, index: try VideoIndex(path: path, create: true), adding: n, seed: 1)
    }

    private func measure(frames n: Int, index: VideoIndex, adding: Int, seed: UInt64) throws -> Row {
        var row = Row(frames: n)
        row.write = try seconds { try SyntheticIndex.populate(index, frames: adding, dimension: dim, seed: seed) }
        row.bytesPerFrame = Double(try index.checkpoint()) / Double(n)
        var matrix: EmbeddingMatrix?
        row.load = try seconds { matrix = try index.matrix() }
        guard let matrix else { return row }

        var rng = SplitMix64(seed: 99)
        let qs = (0..<queries + 2).map { _ in SyntheticIndex.randomUnitVector(dim, &rng) }
        _ = matrix.search(qs[0], options: SearchOptions(top: top))  // warm-up: page in the matrix, start threads
        _ = matrix.search(qs[1], options: SearchOptions(top: top))
        var gemv: [Double] = []
        var topK: [Double] = []
        var total: [Double] = []
        for q in qs.dropFirst(2) {
            var scores: [Float] = []
            gemv.append(seconds { scores = matrix.scores(q) })
            topK.append(seconds { _ = TopK.select(scores, k: max(64, top * 8)) })
            total.append(seconds { _ = matrix.search(q, options: SearchOptions(top: top)) })
        }
        var batched: [Double] = []
        for round in 0..<max(3, queries / batch) {
            let group = (0..<batch).map { qs[(round * batch + $0) % qs.count] }
            batched.append(
                seconds { _ = matrix.search(batch: group, options: SearchOptions(top: top)) } / Double(batch))
        }
        row.batched = Stats(batched)
        row.gemv = Stats(gemv)
        row.topK = Stats(topK)
        row.search = Stats(total)
        row.bandwidth = Double(n * dim * 2) / row.gemv.median / 1e9
        return row
    }

    /// What a later search process pays with the local copy: reopening it when it is caught up, and catching up
    /// after one new 256-frame video (medians of 5 reopenings; one catch-up).
    private func measureCopy(db: String, copies: URL, frames n: Int, seed: UInt64) throws -> String {
        let reopen = try (0..<5).map { _ in
            try seconds { _ = try VideoIndex(path: db, create: false, localCopies: copies).matrix() }
        }.sorted()[2]
        let writer = try VideoIndex(path: db, create: false, localCopies: nil)
        try SyntheticIndex.populate(writer, frames: 256, dimension: dim, framesPerVideo: 256, seed: seed + 1)
        let reader = try VideoIndex(path: db, create: false, localCopies: copies)
        var matrix: EmbeddingMatrix?
        let refresh = try seconds { matrix = try reader.matrix() }
        var rng = SplitMix64(seed: 98)
        let q = SyntheticIndex.randomUnitVector(dim, &rng)
        _ = matrix?.search(q, options: SearchOptions(top: top))
        let first = seconds { _ = matrix?.search(q, options: SearchOptions(top: top)) }
        let report = reader.lastRefresh
        return String(
            format: "%9d   local copy: reopen %.3f s (median of 5) | one new video: %d chunk(s), %d frames read, "
                + "catch-up %.3f s, then a query %.1f ms | copy %d rows, %d searchable",
            n, reopen, report?.chunksRead ?? 0, report?.framesRead ?? 0, refresh, first * 1e3, report?.rows ?? 0,
            report?.searchable ?? 0)
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    // MARK: - Report

    struct Stats {
        var median: Double = 0
        var p90: Double = 0
        init() {}
        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            median = sorted[sorted.count / 2]
            p90 = sorted[min(sorted.count - 1, sorted.count * 9 / 10)]
        }
        var text: String { String(format: "%8.2f %8.2f", median * 1e3, p90 * 1e3) }
    }

    struct Row {
        var frames: Int
        var write = 0.0
        var load = 0.0
        var bytesPerFrame = 0.0
        var gemv = Stats()
        var topK = Stats()
        var search = Stats()
        var batched = Stats()
        var bandwidth = 0.0

        static let header = """
                 frames  bytes/frame  write s   load s | score ms (med,   p90) | top-K ms (med,  p90) \
            | search ms (med,  p90) | score GB/s | batched search ms/query (med,  p90)
            """

        var line: String {
            String(format: "%9d %12.1f %8.2f %8.3f |      ", frames, bytesPerFrame, write, load) + gemv.text
                + " |      " + topK.text + " |       " + search.text + String(format: " | %10.1f", bandwidth)
                + " |                       "
                + batched.text
        }
    }
}
