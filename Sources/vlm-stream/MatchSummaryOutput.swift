import VLMMatch
import VLMGraph
import VLMPipeline

/// Prints what each query matched once the run has drained: one `{"type":"query_summary",…}` JSON line per stream
/// and query under `--json`, else one human line each (`summary plaza "a red car": 2 matches, …`). Nothing when
/// the run had no queries.
func printMatchSummary(_ matcher: QueryMatcher?, json: Bool, to writer: LineWriter) {
    guard let matcher else { return }
    let summary = matcher.summary()
    for line in json ? summary.jsonLines : summary.lines { writer.write(line) }
}
