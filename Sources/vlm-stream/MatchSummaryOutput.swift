import Foundation
import VLMGraph
import VLMMatch
import VLMPipeline

/// Prints what each query matched and scored once the run has drained: one `{"type":"query_summary",…}` JSON line
/// per stream and query under `--json` (with `scores: {frames, peak, peak_pts, median}`), else two human lines each
/// (`summary plaza "a red car": 2 matches, …` and `scores  plaza "a red car": peak 0.91 @ …, median 0.12 over 20
/// frames`). With a test-size checkpoint the human output ends with a note that its scores mean nothing. Nothing
/// when the run had no queries.
func printMatchSummary(_ matcher: QueryMatcher?, json: Bool, to writer: LineWriter) {
    guard let matcher else { return }
    let summary = matcher.summary()
    if json {
        for line in summary.jsonLines { writer.write(line) }
        return
    }
    for (line, entry) in zip(summary.lines, summary.entries) {
        writer.write(line)
        if let scores = entry.scoreLine { writer.write(scores) }
    }
    let identity = matcher.prompts.encoder.modelIdentity
    if !summary.entries.isEmpty, let width = testSizeWidth(identity) {
        FileHandle.standardError.write(
            Data(
                ("note: the model \(identity) is a test-size checkpoint (width \(width)) with random weights, so "
                    + "its scores and captions are meaningless; use real weights, e.g. "
                    + "`vlm-stream models pull openai/clip-vit-base-patch32`\n").utf8))
    }
}

/// The vision width of a checkpoint too small to be a trained CLIP (`clip-vit-p16-32-w64-e32:…`: width 64), or
/// nil. The smallest released CLIP (ViT-B) is 768 wide; the test fixtures are 64.
func testSizeWidth(_ identity: String) -> Int? {
    guard let part = identity.split(separator: ":").first?.split(separator: "-").first(where: { $0.hasPrefix("w") }),
        let width = Int(part.dropFirst()), width < 256
    else { return nil }
    return width
}
