import Foundation
import TestSupport
import Testing

/// `--query-image-crops`: each example image's mirror and five ¾ crops are averaged into its query.
@Suite("query image crops CLI", .serialized)
struct QueryImageCropsCLITests {
    @Test("crops change the query, and it still scores its own clip above the others")
    func cropsAverageIntoTheQuery() throws {
        let directory = try Fixtures.temporaryDirectory("vlm-crops-cli")
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let frames = try [2.0, 6.0].map { t -> String in
            let out = directory.appendingPathComponent("plaza-\(t).png").path
            let ffmpeg = Process()
            ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            ffmpeg.arguments = ["ffmpeg", "-v", "error", "-y", "-ss", "\(t)", "-i", plaza, "-frames:v", "1", out]
            try ffmpeg.run()
            ffmpeg.waitUntilExit()
            return out
        }
        let images = frames.flatMap { ["--query-image", $0] }
        let label = "plaza-2.0.png+plaza-6.0.png"
        let mean = { (s: [(pts: Double, score: Double)]) in s.map(\.score).reduce(0, +) / Double(max(1, s.count)) }
        let whole = try QueryMomentCLITests.scores(plaza, images, query: label).scores
        let cropped = try QueryMomentCLITests.scores(plaza, images + ["--query-image-crops"], query: label).scores
        try #require(!whole.isEmpty && cropped.count == whole.count)
        #expect(whole.map(\.score) != cropped.map(\.score), "the crops must change the query")
        for name in ["megamind.mp4", "static_tree.mp4"] {
            let other = try QueryMomentCLITests.scores(
                Fixtures.sampleVideo(name).path, images + ["--query-image-crops"], query: label
            ).scores
            #expect(mean(cropped) > mean(other), "plaza \(mean(cropped)) vs \(name) \(mean(other))")
        }
        let refused = try CLIRunner.run(["run", plaza, "--query-image-crops"] + QueryMomentCLITests.model)
        #expect(refused.status != 0 && refused.stderr.contains("give --query-image FILE too"), "\(refused.stderr)")
    }
}
