import Foundation
import TestSupport
import Testing

/// `vlm-stream tune` as a subprocess: the tiny random-weight CLIP, an index of the three sample videos, positives
/// from one clip and negatives from the others.
@Suite("tune CLI", .serialized)
struct TuneCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]
    let dir: URL
    let db: String
    let plaza = Fixtures.sampleVideo("plaza.mp4").path
    let megamind = Fixtures.sampleVideo("megamind.mp4").path
    let tree = Fixtures.sampleVideo("static_tree.mp4").path

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-tune-cli")
        db = dir.appendingPathComponent("index.sqlite").path
        let indexed = try CLIRunner.run(["index", plaza, megamind, tree, "--db", db, "--fps", "4"] + Self.model)
        #expect(indexed.status == 0, "index: \(indexed.stderr)")
    }

    func tune(_ extra: [String], out: String = "q.query.json") throws -> CLIRunner.Result {
        try CLIRunner.run(
            ["tune", "--db", db, "--out", dir.appendingPathComponent(out).path] + extra + Self.model)
    }

    /// The two numbers of the "held-out average precision  before B  after A" line.
    static func averagePrecision(_ output: String) throws -> (before: Double, after: Double) {
        let line = try #require(output.split(separator: "\n").first { $0.contains("held-out average precision") })
        let numbers = line.split(separator: " ").compactMap { Double($0) }
        try #require(numbers.count == 2, "\(line)")
        return (numbers[0], numbers[1])
    }

    @Test("held-out AP rises from the untuned text query's to at least 0.9; the file records the model")
    func tuneRaisesAveragePrecision() throws {
        let result = try tune([
            "--query", "a forklift", "--positive", "\(plaza)@0-10", "--negative", "\(megamind)@0-8",
            "--negative", "\(tree)@0-10",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let (before, after) = try Self.averagePrecision(result.stdout)
        #expect(after >= 0.9 && after > before, "AP before \(before), after \(after)")
        let data = try Data(contentsOf: dir.appendingPathComponent("q.query.json"))
        let file = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(file["format"] as? String == "vlm-stream.query")
        #expect((file["model"] as? String)?.isEmpty == false)
        let thresholds = try #require(file["thresholds"] as? [String: Double])
        #expect(try #require(thresholds["exit"]) <= (try #require(thresholds["enter"])))
        #expect(result.stdout.contains(" s"))
    }

    @Test("bad input: one clear line and a non-zero exit each")
    func badInput() throws {
        let image = Fixtures.url("truncated.jpg").path
        let cases: [([String], String)] = [
            (["--query", "x", "--positive", "\(plaza)@5-20"], "ends after the video"),
            (["--query", "x", "--negative", "\(plaza)@0-5"], "no positives"),
            (["--query", "x", "--positive", "nowhere.mp4@0-1"], "no video nowhere.mp4 in the index"),
            (["--query", "x", "--positive", "\(plaza)@5"], "VIDEO@START-END"),
            (["--query-image", image, "--positive", "\(plaza)@0-5"], "truncated.jpg"),
        ]
        for (arguments, expected) in cases {
            let result = try tune(arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }
}
