import Foundation
import TestSupport
import Testing

/// `vlm-stream bench serve` interrupted while it builds its synthetic index.
@Suite struct BenchServeCLITests {
    /// Found by a review: Ctrl-C left the temporary index behind (1 GB a million frames).
    @Test("an interrupted bench serve exits 130 and leaves no temporary index behind", .timeLimit(.minutes(5)))
    func interruptRemovesIndex() throws {
        let temporary = try Fixtures.temporaryDirectory("vlm-bench-serve")
        let log = temporary.appendingPathComponent("bench.log")
        let scratch = temporary.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let child = try ChildProcess(
            try #require(CLIRunner.executable).path,
            ["bench", "serve", "--frames", "5000000", "--model", Fixtures.url("tiny-clip").path],
            environment: ["TMPDIR": scratch.path], output: log)
        // Wait until the index has data in it.
        func stored() -> Int {
            let keys: Set<URLResourceKey> = [.fileSizeKey, .isRegularFileKey]
            let files = FileManager.default.enumerator(at: scratch, includingPropertiesForKeys: Array(keys))
            return (files?.allObjects as? [URL] ?? []).reduce(0) { sum, url in
                guard let values = try? url.resourceValues(forKeys: keys), values.isRegularFile == true else {
                    return sum
                }
                return sum + (values.fileSize ?? 0)
            }
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, child.isRunning, stored() < 1 << 20 { Thread.sleep(forTimeInterval: 0.05) }
        let text = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        try #require(child.isRunning, "bench serve ended before it could be interrupted: \(text())")
        #expect(stored() >= 1 << 20, "no index was written under TMPDIR")
        child.send(SIGINT)
        let status = try #require(child.wait(timeout: 30), "still running 30 s after SIGINT")
        #expect((status & 0x7f) == 0 && (status >> 8) & 0xff == 130, "wait status \(status): \(text())")
        #expect(stored() == 0, "files left under TMPDIR after the interrupt")
        #expect(text().contains("interrupted: the temporary index is removed"))
    }
}
