import ArgumentParser
import Foundation
import VLMCore
import VLMMatch
import VLMPipeline

/// Flags for query matching, events and zero-shot labels, shared by every command that matches (`run`).
///
/// Precedence: built-in defaults < `--match-config` file < `--templates` file < flags.
struct MatchOptions: ParsableArguments {
    @Option(name: .customLong("match-config"), help: "Match settings YAML (see Configs/match.yaml).")
    var matchConfig: String?

    @Option(help: "Prompt templates and negatives YAML (keys templates:, negatives:; see Configs/prompts.yaml).")
    var templates: String?

    @Option(help: "Comma-separated background prompts each query must beat (replaces the configured ones).")
    var negatives: String?

    @Option(help: "Calibrated score (0...1) that opens a match. Default 0.6.")
    var enter: Double?

    @Option(help: "Score an open match must stay at or above (hysteresis). Default 0.5.")
    var exit: Double?

    @Option(
        name: .customLong("min-duration"), help: "Seconds a match must last before `start` is emitted. Default 0.5.")
    var minDuration: Double?

    @Option(help: "Seconds below --exit tolerated without ending a match. Default 1.")
    var gap: Double?

    @Option(
        name: .customLong("update-interval"),
        help: "Seconds between `update` events of an open match; 0 = none. Default 5.")
    var updateInterval: Double?

    @Option(help: "Seconds of history in each query's rolling-median baseline; 0 = off. Default 60.")
    var baseline: Double?

    @Flag(
        name: .customLong("sigmoid-references"),
        help: "SigLIP models: also discount the model's probability by the negatives and the baseline.")
    var sigmoidReferences = false

    @Flag(help: "Also print every query's calibrated score for every sampled frame.")
    var scores = false

    @Option(help: "Comma-separated zero-shot labels; prints each sampled frame's label probabilities.")
    var labels: String?

    @Option(name: .customLong("labels-top"), help: "How many labels to print per frame (best first). Default all.")
    var labelsTop: Int?

    func validate() throws {
        do {
            _ = try settings()
        } catch let error as MatchError {
            throw ValidationError(error.description)
        }
        if let labelsTop, labelsTop < 1 { throw ValidationError("--labels-top \(labelsTop): give 1 or more") }
        if let labels, Self.split(labels).isEmpty {
            throw ValidationError("--labels is empty; give a comma-separated list such as \"person,car,dog\"")
        }
    }

    /// The effective settings: `base` (the defaults, or a pipeline file's `match:`), then the config files, then
    /// flags; validated.
    func settings(over base: MatchSettings = MatchSettings()) throws -> MatchSettings {
        var s = base
        if let matchConfig { s = try MatchSettings.load(from: URL(fileURLWithPath: matchConfig), over: s) }
        if let templates { s = try MatchSettings.load(from: URL(fileURLWithPath: templates), over: s) }
        if let negatives { s.prompts.negatives = Self.split(negatives) }
        if let enter { s.enter = enter }
        if let exit { s.exit = exit }
        if let minDuration { s.minDuration = minDuration }
        if let gap { s.gap = gap }
        if let updateInterval { s.updateInterval = updateInterval }
        if let baseline { s.baselineWindow = baseline }
        if sigmoidReferences { s.sigmoidReferences = true }
        if scores { s.emitScores = true }
        try s.validate()
        return s
    }

    /// Layers the given match options over the spec's `match:` settings and sets its labels (`--labels-top` alone
    /// changes the file's `labels.top`).
    func apply(to spec: inout PipelineSpec) throws {
        spec.match = try settings(over: spec.match)
        if let labels {
            spec.labels = LabelsSpec(labels: Self.split(labels), top: labelsTop ?? spec.labels?.top)
        } else if let labelsTop {
            guard var labels = spec.labels else {
                throw OptionError("--labels-top needs --labels (or a `labels:` section in the pipeline file)")
            }
            labels.top = labelsTop
            spec.labels = labels
        }
    }

    /// The matcher for `queries` and, with `--labels`, the label classifier sharing its prompt cache.
    func makeAnalyzers(textEncoder: any TextEncoding, queries: [String]) throws -> (QueryMatcher, LabelClassifier?) {
        let matcher = try QueryMatcher(encoder: textEncoder, settings: settings(), queries: queries)
        let classifier = try labels.map {
            try LabelClassifier(labels: Self.split($0), prompts: matcher.prompts, top: labelsTop)
        }
        return (matcher, classifier)
    }

    /// Splits a comma-separated list, trimming spaces and dropping empty items.
    static func split(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
