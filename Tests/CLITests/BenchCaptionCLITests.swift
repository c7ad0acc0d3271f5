import Foundation
import TestSupport
import Testing

/// `vlm-stream bench caption` on the tiny GIT checkpoint: the JSON line says the precision it ran at and the tokens
/// it timed; an unknown precision is refused.
@Suite("bench caption CLI")
struct BenchCaptionCLITests {
    @Test("fp32 and int8 runs report their precision, tokens and timings")
    func precisions() throws {
        for precision in ["fp32", "int8"] {
            let result = try CLIRunner.run([
                "bench", "caption", "--model", "Tests/Fixtures/tiny-git", "--precision", precision, "--tokens", "3",
                "--reps", "1",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try #require(result.lines.last.flatMap { $0.data(using: .utf8) })
            let report = try #require(
                try JSONSerialization.jsonObject(with: json) as? [String: Any], "\(result.stdout)")
            #expect(report["precision"] as? String == precision, "\(result.stdout)")
            #expect(report["tokens"] as? Int == 3)
            #expect(((report["step_ms"] as? Double) ?? 0) > 0 && ((report["tokens_per_s"] as? Double) ?? 0) > 0)
            #expect(result.stdout.contains("run at \(precision)"), "\(result.stdout)")
        }
        let refused = try CLIRunner.run(["bench", "caption", "--precision", "int4"])
        #expect(refused.status != 0 && refused.stderr.contains("int4"), "\(refused.stderr)")
    }
}
