import Foundation
import TestSupport
import Testing

/// `vlm-stream bench tune` prints one row per size: runs, median between fastest and slowest, CPU seconds.
@Suite("bench tune CLI")
struct BenchTuneCLITests {
    @Test("one row per size with the median between the fastest and the slowest run; --runs 0 is refused")
    func rowsAndMedians() throws {
        let result = try CLIRunner.run([
            "bench", "tune", "--frames", "40,80", "--runs", "3", "--steps", "5", "--folds", "2", "--dimension", "16",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.first?.contains("median s  min s  max s  cpu s") == true, "\(result.stdout)")
        let rows = result.lines.dropFirst().map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(rows.count == 2 && rows.map { $0.first } == [40, 80], "\(result.stdout)")
        for row in rows {
            try #require(row.count == 12, "\(row)")
            let (runs, median, fastest, slowest, cpu) = (row[4], row[5], row[6], row[7], row[8])
            #expect(runs == 3 && fastest <= median && median <= slowest && cpu >= 0, "\(row)")
        }
        let refused = try CLIRunner.run(["bench", "tune", "--runs", "0"])
        #expect(refused.status != 0 && refused.stderr.contains("--runs 1-100"), "\(refused.stderr)")
    }
}
