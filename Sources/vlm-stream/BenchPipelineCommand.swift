import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCore
import VLMGraph
import VLMMatch
import VLMPipeline
import VLMTensor
import VLMVideo

/// `vlm-stream bench pipeline`: frames/s of the whole graph (decode → scale → encode → match) next to the encoder
/// alone on the same frames, same batch and threads, in the same run.
struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run the whole stage graph on a clip and compare its frames/s with the encoder alone.",
        discussion: """
            First decodes INPUT's sampled frames and times the encoder alone on them (after a warm-up batch), with
            --workers threads each encoding whole batches; then runs the full graph (FFmpeg decode and scaling,
            gate off, flow limiter, batcher, encoder workers, query matching) on the same input. The graph overlaps
            decoding and matching with encoding, so it should reach at least 0.9× the encoder's rate.
            Without --model the weights are random with ViT-B/32's shape and queries are random unit vectors.
            Each repetition times the encoder alone, then the graph; the ratio is the median of the repetitions' own
            ratios, and the CPU time per frame (all threads) shows what decoding and scaling add.
            The last line is JSON: pipeline_fps, encoder_fps, ratio, pipeline_cpu_ms_per_frame,
            encoder_cpu_ms_per_frame.
            """
    )

    @Argument(help: "A video file (default: SampleVideos/plaza.mp4).")
    var input: String = "SampleVideos/plaza.mp4"

    @Option(
        help: ArgumentHelp(
            "A CLIP checkpoint directory or cached hub name (default: random ViT-B/32).",
            valueName: "dir|name"))
    var model: String?

    @Option(help: "Images per forward pass.")
    var batch: Int = 8

    @Option(help: "Precision of the encoder's linear layers: fp32 or int8 (default: what the checkpoint holds).")
    var precision: Precision?

    @Option(help: "Kernel threads per encoder worker (default: cores ÷ workers).")
    var threads: Int?

    @Option(help: "Encoder worker threads (default as in run: 2 on 2+ cores).")
    var workers: Int = EncoderSpec.defaultWorkers

    @Option(help: "Encode every Nth decoded frame (1 = all).")
    var every: Int = 1

    @Option(help: "Repetitions, each the encoder alone then the graph (medians reported).")
    var repeats: Int = 5

    @Option(help: "FFmpeg decoder threads (as in run).")
    var decoderThreads: Int = VideoSourceOptions().decoderThreads

    func validate() throws {
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be between 1 and 1024.") }
        guard (1...16).contains(workers) else { throw ValidationError("--workers must be between 1 and 16.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        guard every >= 1, repeats >= 1 else { throw ValidationError("--every and --repeats must be at least 1.") }
        guard (1...16).contains(decoderThreads) else {
            throw ValidationError("--decoder-threads must be between 1 and 16.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let threadCount = threads ?? max(1, System.activeProcessorCount / workers)
            // Open the input once before the model is built, so a bad path is reported at once.
            _ = try VideoSource(VideoInput(parsing: input), options: VideoSourceOptions(), logger: quiet)
            let (model, text, modelName, preprocessing) = try loadModel()
            // Each call runs with `threadCount` kernel threads, as `run`'s encoder workers do.
            let encoder = ComputedEncoder(model, compute: ComputeOptions(threads: threadCount))
            let queries = ["a person crossing the street", "a red car", "an empty plaza"]

            // 1. The encoder alone on the clip's frames.
            let frames = try decodeFrames(preprocessing)
            let images = frames.flatMap { $0.views.map(\.image) }
            _ = try encoder.encode(images: Array(images.prefix(batch)))  // warm-up: scratch, page-in
            // Each repetition times the encoder alone and then the graph, so each ratio compares neighbours in
            // time on a machine whose load moves; the ratio reported is the median of theirs.
            var alone = Measured()
            var pipeline = Measured()
            var ratios: [Double] = []
            var last: RunSummary?
            for _ in 0..<repeats {
                let start = ProcessMemory.cpuSeconds()
                let encoderRate = try measureEncoder(encoder, images: images)
                let middle = ProcessMemory.cpuSeconds()
                let summary = try await runGraph(
                    encoder: encoder, text: text, queries: queries, preprocessing: preprocessing)
                if let error = summary.error { throw PipelineRunError(description: "pipeline failed: \(error)") }
                let pipelineRate = Double(summary.counts.encoded) / summary.wallSeconds
                alone.add(rate: encoderRate, cpuSeconds: middle - start, frames: images.count)
                pipeline.add(
                    rate: pipelineRate, cpuSeconds: ProcessMemory.cpuSeconds() - middle, frames: summary.counts.encoded)
                ratios.append(pipelineRate / encoderRate)
                last = summary
            }
            let ratio = median(ratios)
            print("model        \(modelName)")
            print("input        \(input): \(frames.count) frames (every \(every)), \(images.count) images")
            print("arrangement  \(workers) worker(s) × \(threadCount) BLAS thread(s), batch \(batch)")
            print("encoder      " + alone.line(repeats))
            print("pipeline     " + pipeline.line(repeats))
            print(
                "ratio        " + String(format: "%.3f", ratio) + " (median of "
                    + ratios.map { String(format: "%.3f", $0) }.joined(separator: ", ") + ")")
            if let last { print("last run     \(last.line)") }
            print(
                "{\"pipeline_fps\":\(fmt(median(pipeline.rates))),\"encoder_fps\":\(fmt(median(alone.rates))),"
                    + "\"ratio\":\(fmt(ratio)),\"pipeline_cpu_ms_per_frame\":\(fmt(median(pipeline.cpuMilliseconds))),"
                    + "\"encoder_cpu_ms_per_frame\":\(fmt(median(alone.cpuMilliseconds))),"
                    + "\"batch\":\(batch),\"workers\":\(workers),\"threads\":\(threadCount),\"frames\":\(frames.count),"
                    + "\"model\":\(JSONText.string(modelName))}")
        }
    }

    /// Frames/s and CPU milliseconds per frame (all threads) of one side, a value per repetition.
    private struct Measured {
        var rates: [Double] = []
        var cpuMilliseconds: [Double] = []

        mutating func add(rate: Double, cpuSeconds: Double, frames: Int) {
            rates.append(rate)
            cpuMilliseconds.append(cpuSeconds * 1000 / Double(max(frames, 1)))
        }

        func line(_ repeats: Int) -> String {
            String(
                format: "%.2f frames/s, %.1f ms of CPU a frame (medians of %d)", median(rates), median(cpuMilliseconds),
                repeats)
        }
    }

    // MARK: - Parts

    /// The encoders and the preprocessing the video stage scales frames with (the checkpoint's own).
    private func loadModel() throws -> (any ImageEncoding, any TextEncoding, String, ImagePreprocessing) {
        if let model {
            let clip = try CLIPModel.load(
                directory: try ModelLocator.resolve(model), maxBatch: batch, precision: precision, logger: quiet)
            return (clip, clip, model, clip.preprocessing)
        }
        // Only the image tower runs; the text tower is shrunk to almost nothing (as in `bench encoder`).
        var config = CLIPConfig.vitB32
        config.text = .init()
        config.text.vocabSize = 8
        config.text.hiddenSize = 8
        config.text.intermediateSize = 8
        config.text.numHiddenLayers = 1
        config.text.numAttentionHeads = 1
        let weights = try CLIPWeights.random(config: config).converted(to: precision ?? .fp32)
        let vision = VisionOnlyEncoder(vision: CLIPVisionModel(weights: weights), maxBatch: batch)
        return (
            vision, PipelineBenchTextEncoder(embeddingSize: vision.embeddingSize),
            "random ViT-B/32, \(weights.precision.rawValue)",
            vision.preprocessor
        )
    }

    private func sourceOptions(_ preprocessing: ImagePreprocessing) -> VideoSourceOptions {
        var options = VideoSourceOptions()
        options.sampling = .every(every)
        options.preprocessing = preprocessing
        options.lumaSize = 0
        options.decoderThreads = decoderThreads
        return options
    }

    private func decodeFrames(_ preprocessing: ImagePreprocessing) throws -> [Frame] {
        let source = try VideoSource(
            VideoInput(parsing: input), options: sourceOptions(preprocessing), logger: quiet)
        var frames: [Frame] = []
        while let sampled = try source.next() { frames.append(sampled.frame) }
        return frames
    }

    /// Frames/s of `workers` threads each encoding whole batches of `images` (one image per frame: no tiles).
    private func measureEncoder(_ encoder: any ImageEncoding, images: [RGBImage]) throws -> Double {
        let batches = stride(from: 0, to: images.count, by: batch).map {
            Array(images[$0..<min(images.count, $0 + batch)])
        }
        let next = Locked(0)
        let failure = Locked<(any Error)?>(nil)
        let start = DispatchTime.now()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index = next.withLock { n -> Int in
                    defer { n += 1 }
                    return n
                }
                guard index < batches.count else { return }
                do {
                    _ = try encoder.encode(images: batches[index])
                } catch {
                    failure.withLock { $0 = error }
                    return
                }
            }
        }
        if let error = failure.current { throw error }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Double(images.count) / seconds
    }

    private func runGraph(
        encoder: any ImageEncoding, text: any TextEncoding, queries: [String], preprocessing: ImagePreprocessing
    ) async throws -> RunSummary {
        let source = try VideoSource(
            VideoInput(parsing: input), options: sourceOptions(preprocessing), logger: quiet)
        var settings = MatchSettings()
        settings.emitScores = true
        let matcher = try QueryMatcher(encoder: text, settings: settings, queries: queries)
        let graph = StageGraph(
            sources: [GraphSource(source: VideoFrameSource(source))],
            encoders: Array(repeating: encoder, count: workers), analyzers: [matcher], sinks: [CountingSink()],
            options: GraphOptions(maxBatch: batch))
        return await graph.run()
    }

    private var quiet: Logger {
        var logger = Logger(label: "vlm.bench")
        logger.logLevel = .warning
        return logger
    }

    private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
}

/// The image tower alone as an `ImageEncoding` (random weights have no tokenizer, so no `CLIPModel`).
private struct VisionOnlyEncoder: ImageEncoding {
    let vision: CLIPVisionModel
    let maxBatch: Int
    let preprocessor = CLIPImagePreprocessor.openAI

    var imageSize: Int { vision.imageSize }
    var embeddingSize: Int { vision.embeddingSize }
    var modelIdentity: String { "random-vit-b32" }

    func encode(images: [RGBImage]) throws -> [Embedding] {
        var out: [Embedding] = []
        for start in stride(from: 0, to: images.count, by: maxBatch) {
            let chunk = images[start..<min(images.count, start + maxBatch)]
            var pixels: [Float] = []
            pixels.reserveCapacity(chunk.count * 3 * imageSize * imageSize)
            for image in chunk { preprocessor.normalize(image, into: &pixels) }
            out += try vision.encode(pixelValues: pixels, batch: chunk.count)
        }
        return out
    }
}

/// Seeded random unit vectors per text: stands in for a text tower when the bench runs random image weights.
private struct PipelineBenchTextEncoder: TextEncoding {
    let embeddingSize: Int
    var modelIdentity: String { "random-text" }
    var logitScale: Float { 100 }

    func encode(texts: [String]) throws -> [Embedding] {
        texts.map { text in
            var state = UInt64(truncatingIfNeeded: text.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) })
            let values = (0..<embeddingSize).map { _ -> Float in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
            }
            return Embedding(values).normalized()
        }
    }
}

/// Counts results and drops them (the bench measures the graph, not the terminal).
private final class CountingSink: ResultSink {
    let count = Locked(0)
    func consume(_ result: StreamResult) { count.withLock { $0 += 1 } }
    func finish() {}
}
