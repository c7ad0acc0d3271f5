import ArgumentParser
import CLIP
import Foundation
import VLMCore
import VLMIndex
import VLMMatch
import VLMPipeline
import VLMVideo

/// `vlm-stream tune`: learns a query from marked moments of an index (frozen embeddings; nothing re-encoded).
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune a query from marked positive and negative intervals of an index.",
        discussion: """
            Starts from the text (or --query-image) embedding and refines it, a low-rank residual adapter on the \
            frame embeddings and the logit scale, with CLIP's symmetric contrastive loss over the marked frames \
            (the negatives and the negative prompts as the other columns) and decay toward the start. Prints the \
            held-out average precision before and after tuning (k-fold over the marked intervals), the suggested \
            --enter/--exit thresholds and the time taken; writes a query file for `run --query-file`.
            """
    )

    @Option(help: "The index database (made by `vlm-stream index`).")
    var db: String

    @Option(help: "The query text to start from.")
    var query: String?

    @Option(name: .customLong("query-image"), help: "Start from this image instead (repeatable: averaged).")
    var queryImage: [String] = []

    @Option(help: ArgumentHelp("A moment the query should match (repeatable).", valueName: "video@start-end"))
    var positive: [String] = []

    @Option(help: ArgumentHelp("A moment it should not match (repeatable).", valueName: "video@start-end"))
    var negative: [String] = []

    @Option(help: "Where to write the query file.")
    var out: String

    @Option(help: "Comma-separated negative prompts (replaces the configured ones).")
    var negatives: String?

    @Option(name: .customLong("match-config"), help: "Match settings YAML (templates and negatives).")
    var matchConfig: String?

    @Option(help: "Folds for the held-out estimate.")
    var folds: Int = 5

    @Option(help: "Optimiser steps.")
    var steps: Int = 150

    @Option(help: "Weight decay toward the starting query (λ).")
    var decay: Double = 0.05

    @Option(help: "Rank of the residual adapter.")
    var rank: Int = 4

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard query != nil || !queryImage.isEmpty else {
            throw ValidationError("Give --query TEXT or --query-image FILE.")
        }
        if let query, query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--query is empty; give some words, e.g. --query \"a forklift\".")
        }
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2.") }
        guard steps >= 1, rank >= 1, decay >= 0, decay.isFinite else {
            throw ValidationError("--steps and --rank must be at least 1, --decay 0 or more.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let clock = ContinuousClock.now
            guard !positive.isEmpty else {
                throw OptionError(
                    "no positives: mark at least one moment the query should match with --positive VIDEO@START-END")
            }
            let index = try VideoIndex(path: db, create: false)
            guard try index.model() != nil else { throw IndexError.empty(path: index.path) }
            let encoder = try model.load()
            try index.requireModel(encoder.modelIdentity)
            let matrix = try index.matrix()
            let marks =
                try positive.map { try Mark.parse($0, positive: true) }
                + negative.map {
                    try Mark.parse($0, positive: false)
                }
            let examples = try Self.examples(marks, in: matrix)
            var settings = MatchSettings()
            if let matchConfig {
                settings = try MatchSettings.load(from: URL(fileURLWithPath: matchConfig), over: settings)
            }
            if let negatives { settings.prompts.negatives = MatchOptions.split(negatives) }
            let prompts = PromptEncoder(encoder: encoder, templates: settings.prompts.templates)
            let start = try startEmbedding(encoder: encoder, prompts: prompts)
            guard start.count == matrix.dimension else {
                throw IndexError.dimensionMismatch(path: index.path, indexed: matrix.dimension, given: start.count)
            }
            var tuning = TuneSettings()
            tuning.folds = folds
            tuning.steps = steps
            tuning.decay = decay
            tuning.rank = rank
            let tuner = QueryTuner(
                settings: tuning, start: start.values, logitScale: prompts.logitScale,
                prompts: try prompts.embed(settings.prompts.negatives).map(\.values))
            let report = tuner.evaluate(examples, logitBias: prompts.logitBias)
            let label = query ?? ExampleImages.label(queryImage)
            let file = TunedQuery(
                label: label, model: encoder.modelIdentity, parameters: report.parameters, after: report.after,
                before: report.before)
            do {
                try file.write(to: URL(fileURLWithPath: out))
            } catch {
                throw OptionError(
                    "--out '\(out)': cannot write the query file (\((error as NSError).localizedDescription)); "
                        + "check that its directory exists and is writable")
            }
            let elapsed = ContinuousClock.now - clock
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let positives = examples.positive.filter { $0 }.count
            print(
                "tune \"\(label)\": \(examples.count) frames (\(positives) positive, "
                    + "\(examples.count - positives) negative) from \(marks.count) intervals, \(report.folds)-fold"
            )
            print(
                String(
                    format: "  held-out average precision  before %.3f  after %.3f", report.before.averagePrecision,
                    report.after.averagePrecision))
            print(
                String(
                    format: "  suggested thresholds  --enter %.3f --exit %.3f  (untuned: %.3f / %.3f)",
                    report.after.enter, report.after.exit, report.before.enter, report.before.exit))
            print(
                String(
                    format: "  logit scale %.2f → %.2f; wrote %@ in %.2f s", prompts.logitScale, file.logitScale, out,
                    seconds))
        }
    }

    /// The starting embedding: the text's prompt ensemble, or the mean of the normalised example images.
    func startEmbedding(encoder: CLIPModel, prompts: PromptEncoder) throws -> Embedding {
        if let query { return try prompts.embed(query) }
        return try ExampleImages.embedding(queryImage, encoder: encoder)
    }

    /// The indexed frames inside each mark, grouped by mark.
    static func examples(_ marks: [Mark], in matrix: EmbeddingMatrix) throws -> TuneExamples {
        var images = [Float]()
        var positive = [Bool]()
        var group = [Int]()
        for (g, mark) in marks.enumerated() {
            let video = try mark.video(in: matrix.videos)
            let v = try require0(matrix.videos.firstIndex(of: video))
            if let duration = video.duration, mark.end > duration + 0.05 {
                throw OptionError(
                    "\(mark.text): the interval ends after the video (\(MediaTime.format(duration)) long); "
                        + "mark a time inside it"
                )
            }
            let rows = (0..<matrix.count).filter {
                matrix.videoOfRow[$0] == Int32(v) && matrix.pts[$0] >= mark.start && matrix.pts[$0] <= mark.end
            }
            guard !rows.isEmpty else {
                throw OptionError(
                    "\(mark.text): no indexed frame lies in this interval; mark a longer one or index at a higher --fps"
                )
            }
            for row in rows {
                images += matrix.row(row)
                positive.append(mark.positive)
                group.append(g)
            }
        }
        return TuneExamples(dimension: matrix.dimension, images: images, positive: positive, group: group)
    }
}

/// Unwraps an index that `firstIndex(of:)` of an element of the same array always finds.
private func require0(_ value: Int?) throws -> Int {
    guard let value else { throw OptionError("internal: a video of the index is missing from its own list") }
    return value
}

/// `VIDEO@START-END` as given to --positive / --negative.
struct Mark: Sendable {
    var text: String
    var path: String
    var start: Double
    var end: Double
    var positive: Bool

    static func parse(_ text: String, positive: Bool) throws -> Mark {
        let flag = positive ? "--positive" : "--negative"
        guard let at = text.lastIndex(of: "@") else {
            throw OptionError("\(flag) \(text): write VIDEO@START-END with times in seconds, e.g. plaza.mp4@2-5")
        }
        let times = text[text.index(after: at)...].split(separator: "-", omittingEmptySubsequences: false)
        guard times.count == 2, let start = Double(times[0]), let end = Double(times[1]), start.isFinite,
            end.isFinite
        else { throw OptionError("\(flag) \(text): write VIDEO@START-END with times in seconds, e.g. plaza.mp4@2-5") }
        guard start >= 0, end > start else {
            throw OptionError("\(flag) \(text): the interval must start at 0 or later and end after it starts")
        }
        return Mark(text: "\(flag) \(text)", path: String(text[..<at]), start: start, end: end, positive: positive)
    }

    /// The indexed video this mark names: by absolute path, else by a unique file name.
    func video(in videos: [IndexedVideo]) throws -> IndexedVideo {
        if let v = IndexedVideo.named(path, in: videos) { return v }
        throw OptionError("\(text): no video \(path) in the index; give a path as `vlm-stream index` was given it")
    }
}
