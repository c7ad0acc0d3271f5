import ArgumentParser
import CLIP
import Foundation
import GIT
import VLMCore
import VLMTensor

/// `vlm-stream bench caption`: image-encode time, per-token decoder time and time to a whole greedy caption of a
/// GIT model (GIT-base-shaped random weights unless --model is given).
struct BenchCaptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Time GIT captioning: image encode, each decoder step, a whole greedy caption; tokens/s.",
        discussion: """
            Without --model the weights are random, in memory, with microsoft/git-base's shape (ViT-B/16 at 224 px,
            6 × 768 decoder, 30522 vocabulary). The caption is forced to --tokens tokens (end-of-text is ignored),
            batch 1, greedy. Per-token times are reported at the first, middle and last step so a cache that
            works shows a flat line. The last line is a JSON object (scripts/bench-caption.py reads it).
            """)

    @Option(help: ArgumentHelp("A GIT checkpoint directory (default: random git-base shape).", valueName: "dir"))
    var model: String?

    @Option(help: "Tokens per caption.")
    var tokens: Int = 20

    @Option(help: "Captions to time (the median is reported).")
    var reps: Int = 5

    @Option(help: "Worker threads (default: the active cores).")
    var threads: Int?

    @Option(
        help:
            "fp32, or int8: the image tower's blocks, the decoder's linears and its vocabulary head quantized at load."
    )
    var precision: Precision = .fp32

    @Option(help: "Kernels: native (the best this CPU has), avx2 (even where AVX-512 is chosen) or portable.")
    var kernels: ComputeOptions.Kernels = .native

    func validate() throws {
        guard (2...500).contains(tokens) else { throw ValidationError("--tokens must be between 2 and 500.") }
        guard (1...1000).contains(reps) else { throw ValidationError("--reps must be between 1 and 1000.") }
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be between 1 and 1024.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            // The benchmark's thread count and kernels apply to its own work only (no process-wide setting).
            let compute = ComputeOptions(threads: threads ?? System.activeProcessorCount, kernels: kernels)
            try compute.run {
                let baseline = ProcessMemory.read()
                let loadStart = DispatchTime.now()
                let gitModel: GITModel
                let source: String
                if let model {
                    gitModel = try GITCheckpoint.load(directory: URL(fileURLWithPath: model), precision: precision)
                        .model
                    source = model
                } else {
                    gitModel = GITModel(weights: try GITWeights.random(config: GITConfig()).converted(to: precision))
                    source = "random git-base (ViT-B/16 224, 6x768, vocab 30522)"
                }
                let loadSeconds = Self.seconds(since: loadStart)
                let c = gitModel.config
                var rng = SplitMix64(seed: 7)
                let count = c.frames * 3 * c.vision.imageSize * c.vision.imageSize
                let pixels = (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 }
                var settings = GITGenerationConfig(config: c)
                settings.maxNewTokens = tokens
                settings.eosTokenID = -1  // never stop early: every caption is `tokens` long
                var encode: [Double] = []
                var steps: [[Double]] = []
                var whole: [Double] = []
                for _ in 0..<(reps + 1) {  // the first round warms up and is dropped
                    let t0 = DispatchTime.now()
                    let context = try pixels.withUnsafeBufferPointer {
                        try gitModel.encodeImages(pixelValues: $0, images: 1)
                    }
                    encode.append(Self.seconds(since: t0))
                    let cache = GITTextCache(imageOf: [0], capacity: tokens, config: c)
                    var token: Int32 = Int32(c.bosTokenID)
                    var times: [Double] = []
                    for _ in 0..<tokens {
                        let t = DispatchTime.now()
                        let logits = try gitModel.decode(tokens: [token], context: context, cache: cache)
                        times.append(Self.seconds(since: t))
                        token = Int32(logits.values.indices.max { logits.data[$0] < logits.data[$1] } ?? 0)
                    }
                    steps.append(times)
                    let t1 = DispatchTime.now()
                    _ = try pixels.withUnsafeBufferPointer {
                        try gitModel.generate(pixelValues: $0, images: 1, settings: settings)
                    }
                    whole.append(Self.seconds(since: t1))
                }
                encode.removeFirst()
                steps.removeFirst()
                whole.removeFirst()
                let stepAt = { (i: Int) in median(steps.map { $0[i] }) }
                let (first, middle, last) = (stepAt(1), stepAt(tokens / 2), stepAt(tokens - 1))
                let allSteps = median(steps.flatMap { $0.dropFirst() })
                let caption = median(whole)
                let memory = ProcessMemory.read()
                let weightBytes = gitModel.weights.weightBytes
                let ranAt = gitModel.weights.precision.rawValue
                print("model        \(source), loaded in \(String(format: "%.2f s", loadSeconds))")
                print(
                    "weights      \(weightBytes / 1_000_000) MB float32, run at \(ranAt), "
                        + "\(compute.threads) threads, \(compute.isa)")
                print("image encode " + String(format: "%.1f ms (median of %d)", median(encode) * 1e3, reps))
                print(
                    "decoder step "
                        + String(
                            format: "%.2f ms median; step 2 %.2f ms, step %d %.2f ms, step %d %.2f ms", allSteps * 1e3,
                            first * 1e3, tokens / 2 + 1, middle * 1e3, tokens, last * 1e3))
                print(
                    "caption      "
                        + String(
                            format: "%.1f ms for %d tokens (%.1f tokens/s)", caption * 1e3, tokens,
                            Double(tokens) / caption
                        ))
                let ratio = String(format: "%.2f", Double(memory.peakBytes) / Double(weightBytes))
                print(
                    "memory       peak RSS \(memory.peakMB) MB (\(ratio)× the weights), \(baseline.currentMB) MB before "
                        + "loading")
                print(
                    "{\"encode_ms\":\(Self.r(median(encode) * 1e3)),\"step_ms\":\(Self.r(allSteps * 1e3)),"
                        + "\"step_first_ms\":\(Self.r(first * 1e3)),\"step_middle_ms\":\(Self.r(middle * 1e3)),"
                        + "\"step_last_ms\":\(Self.r(last * 1e3)),\"caption_ms\":\(Self.r(caption * 1e3)),"
                        + "\"tokens\":\(tokens),\"tokens_per_s\":\(Self.r(Double(tokens) / caption)),"
                        + "\"weight_bytes\":\(weightBytes),\"peak_rss_bytes\":\(memory.peakBytes),"
                        + "\"threads\":\(compute.threads),\"precision\":\"\(ranAt)\","
                        + "\"model\":\(JSONText.string(source))}")
            }
        }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    static func r(_ x: Double) -> String { String(format: "%.3f", x) }
}
