import ArgumentParser
import CLIP
import Foundation
import VLMCore
import VLMTensor

/// `vlm-stream bench …`: throughput measurements that print numbers (never timed unit tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of vlm-stream's parts.",
        subcommands: [
            BenchEncoderCommand.self, BenchSearchCommand.self, BenchPreprocessCommand.self, BenchMQTTCommand.self,
            BenchCaptionsCommand.self, BenchCaptionCommand.self, BenchMatchCommand.self, BenchPipelineCommand.self,
            BenchServeCommand.self, BenchTuneCommand.self,
        ]
    )
}

/// `vlm-stream bench encoder`: images/s of the fp32 CLIP image encoder.
struct BenchEncoderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoder",
        abstract: "Encode random images with the image tower and report images/s, latency and GFLOP/s.",
        discussion: """
            Without --model the weights are random, in memory, with the --shape's sizes: vit-b32 (CLIP ViT-B/32:
            image 224, patch 32, width 768, 12 layers, 12 heads, MLP 3072, projection 512), siglip-b16-224 or
            siglip-b32-256 (SigLIP base: width 768, 12 layers, 12 heads, MLP 3072, attention-pooling head, no class
            token, gelu_pytorch_tanh), or siglip-so400m-384 (SigLIP so400m: image 384, patch 14, width 1152,
            27 layers, 16 heads, MLP 4304; 1.7 GB of weights), so it runs anywhere. The last line is a JSON object.
            GFLOP/s counts the whole forward pass as transformers runs it; vlm-stream skips part of it (CLIP's last
            block runs for the class token only, ~7 %; SigLIP's pooling head needs no keys or values, ~1–2 %), so the
            figure compares implementations by images/s.
            """
    )

    @Option(
        help: ArgumentHelp(
            "A CLIP checkpoint directory or cached hub name (default: random ViT-B/32).",
            valueName: "dir|name"))
    var model: String?

    @Option(
        help: "Random weights' shape without --model: vit-b32, siglip-b16-224, siglip-b32-256 or siglip-so400m-384.")
    var shape: String = "vit-b32"

    @Option(help: "Images per forward pass.")
    var batch: Int = 8

    @Option(help: "Images to encode in all (rounded up to whole batches), after one warm-up batch.")
    var images: Int = 64

    @Option(help: "Threads for the matrix products, attention and element-wise kernels (default: all cores).")
    var threads: Int?

    @Option(
        help: """
            Kernel code: native (the best for this CPU: AVX-512, AVX2+FMA or plain C), avx2 (AVX2+FMA even where \
            AVX-512 is native) or portable (plain C), for comparisons.
            """)
    var kernels: ComputeOptions.Kernels = .native

    @Option(
        help: """
            Precision of the blocks' linear layers: fp32, or int8 (quantized at load unless already int8). Default: \
            what the checkpoint holds.
            """)
    var precision: Precision?

    @Option(help: "SmoothQuant strength α for int8 quantized at load (0: plain per-row quantization).")
    var smoothing: Float = CLIPWeights.defaultSmoothing

    @Option(help: "For int8 quantized at load: keep layer-norm outlier channels in float32 (true/false).")
    var keepOutliers: Bool = true

    @Option(
        help: """
            For int8 quantized at load: the inputs quantized per row with a zero point (asymmetric) rather than \
            symmetric: none, fc2 (GELU's almost one-sided output) or all (default).
            """)
    var zeroPoints: ZeroPoints = CLIPWeights.defaultZeroPoints

    @Flag(
        help: """
            With --precision int8: also measure accuracy against fp32 (centered relative error over 56 varied \
            images and frames, zero-shot agreement over 20 labels); without --model on the outlier fixture.
            """)
    var accuracy = false

    func validate() throws {
        guard batch >= 1, batch <= 1024 else { throw ValidationError("--batch must be between 1 and 1024.") }
        guard images >= 1 else { throw ValidationError("--images must be at least 1.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        guard Self.shapes[shape] != nil else {
            throw ValidationError(
                "--shape \(shape) is not known; use one of \(Self.shapes.keys.sorted().joined(separator: ", "))")
        }
        if accuracy && precision == .fp32 {
            throw ValidationError("--accuracy compares int8 with fp32: add --precision int8.")
        }
        guard smoothing >= 0, smoothing <= 1 else { throw ValidationError("--smoothing must be between 0 and 1.") }
    }

    /// The random-weight shapes `--shape` names.
    static let shapes: [String: CLIPConfig] = {
        var b16 = CLIPConfig.siglipBase
        b16.vision.imageSize = 224
        b16.vision.patchSize = 16
        var b32 = CLIPConfig.siglipBase
        b32.vision.imageSize = 256
        b32.vision.patchSize = 32
        // google/siglip-so400m-patch14-384's image tower: 27 × 27 patches of 14 px (384 is not a multiple of 14),
        // width 1152, head_dim 72.
        var so400m = CLIPConfig.siglipBase
        so400m.vision.imageSize = 384
        so400m.vision.patchSize = 14
        so400m.vision.hiddenSize = 1152
        so400m.vision.intermediateSize = 4304
        so400m.vision.numHiddenLayers = 27
        so400m.vision.numAttentionHeads = 16
        so400m.projectionDim = 1152
        return [
            "vit-b32": .vitB32, "siglip-b16-224": b16, "siglip-b32-256": b32, "siglip-so400m-384": so400m,
        ]
    }()

    func run() async throws {
        try await reportingErrors {
            let threadCount = threads ?? System.activeProcessorCount
            let compute = ComputeOptions(threads: threadCount, kernels: kernels)

            let baseline = ProcessMemory.read()  // the process before any model: runtime, FFmpeg, Foundation…
            let loadStart = DispatchTime.now()
            var weights: CLIPWeights
            let source: String
            if let model {
                // Only config.json + model.safetensors are needed here; a hub name goes through the cache lookup.
                let local = URL(fileURLWithPath: model)
                let isCheckpoint = FileManager.default.fileExists(
                    atPath: local.appendingPathComponent("config.json").path)
                let directory = isCheckpoint ? local : try ModelLocator.resolve(model)
                weights = try CLIPWeights.load(directory: directory)
                source = directory.path
            } else {
                // Only the image tower runs here, so the text tower is shrunk to almost nothing.
                var config = Self.shapes[shape] ?? .vitB32
                let text = config.text
                config.text = .init()
                config.text.hiddenAct = text.hiddenAct
                config.text.projectionSize = config.family == .siglip ? config.embeddingSize : nil
                config.text.vocabSize = 8
                config.text.hiddenSize = 8
                config.text.intermediateSize = 8
                config.text.numHiddenLayers = 1
                config.text.numAttentionHeads = 1
                weights = try CLIPWeights.random(config: config)
                source = "random \(shape)"
            }
            let reference = weights
            if accuracy && (reference.precision == .int8 || (model == nil && precision == nil)) {
                throw ValidationError(
                    "--accuracy compares int8 with fp32: add --precision int8 and give a float32 checkpoint.")
            }
            let file = model.map { "\($0)/model.safetensors" } ?? "random weights"
            weights =
                precision == .fp32
                ? try weights.at(.fp32, file: file)  // refuses an int8 checkpoint
                : weights.converted(
                    to: precision ?? weights.precision, smoothing: smoothing, keepOutliers: keepOutliers,
                    zeroPoints: zeroPoints)
            let loadSeconds = seconds(since: loadStart)
            let encoder = CLIPVisionModel(weights: weights)

            let side = encoder.imageSize
            let batches = (images + batch - 1) / batch

            // Warm-up (pages in the weights, sizes the scratch) on a fixed probe image whose embedding other
            // implementations can recompute: pixel[i] = 2·sin(0.001·i) over (B, 3, H, W). The same buffer then
            // holds the random pixels that are timed.
            var pixels = (0..<(batch * 3 * side * side)).map { Float(2 * sin(0.001 * Double($0))) }
            let probeEmbedding = try compute.run { try encoder.encode(pixelValues: pixels, batch: batch) }[0].values
            var generator = SplitMix64(seed: 42)
            for i in pixels.indices { pixels[i] = generator.nextUnitFloat() * 4 - 2 }
            var latencies: [Double] = []
            let cpuStart = ProcessMemory.cpuSeconds()
            let start = DispatchTime.now()
            for _ in 0..<batches {
                let t = DispatchTime.now()
                _ = try compute.run { try encoder.encode(pixelValues: pixels, batch: batch) }
                latencies.append(seconds(since: t))
            }
            let total = seconds(since: start)
            let cpuPerImage = (ProcessMemory.cpuSeconds() - cpuStart) / Double(batches * batch)
            let encoded = batches * batch
            let imagesPerSecond = Double(encoded) / total
            let gflops = encoder.flopsPerImage * imagesPerSecond / 1e9
            latencies.sort()
            let memory = ProcessMemory.read()
            let accuracyReport =
                try accuracy
                ? measureAccuracy(reference: model == nil ? nil : reference, compute: compute) : (lines: [], json: "")

            print("model        \(source)")
            print(
                "weights      \(String(format: "%.1f", Double(weights.vision.byteCount) / 1e6)) MB image tower, "
                    + "loaded in "
                    + String(format: "%.3f s", loadSeconds))
            print(
                "batch        \(batch) × \(side)px, \(encoded) images, \(threadCount) threads, \(compute.isa) kernels "
                    + "(\(Kernels.l2Budget / 1024) KB of x per L2; blocks: \(compute.blockISA)), "
                    + "\(weights.precision.rawValue) (int8 kernel \(compute.int8ISA))")
            print("throughput   " + String(format: "%.2f images/s, %.1f GFLOP/s", imagesPerSecond, gflops))
            print(
                "latency      "
                    + String(
                        format: "median %.1f ms, p90 %.1f ms, max %.1f ms per batch",
                        percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.9) * 1e3, latencies.last! * 1e3))
            print("cpu          " + String(format: "%.3f CPU-s per image (all threads, user+sys)", cpuPerImage))
            print(
                "memory       peak RSS \(memory.peakMB) MB, RSS \(memory.currentMB) MB, "
                    + "\(baseline.currentMB) MB of it before loading the model")
            accuracyReport.lines.forEach { print($0) }
            print(
                "{\"images_per_s\":\(round3(imagesPerSecond)),\"batch\":\(batch),\"threads\":\(threadCount),"
                    + "\"images\":\(encoded),\"gflops_per_s\":\(round3(gflops)),"
                    + "\"latency_ms\":{\"median\":\(round3(percentile(latencies, 0.5) * 1e3)),"
                    + "\"p90\":\(round3(percentile(latencies, 0.9) * 1e3)),"
                    + "\"p99\":\(round3(percentile(latencies, 0.99) * 1e3)),"
                    + "\"min\":\(round3(latencies.first! * 1e3)),\"max\":\(round3(latencies.last! * 1e3))},"
                    + "\"cpu_s_per_image\":\(round3(cpuPerImage)),\"load_s\":\(round3(loadSeconds)),"
                    + "\"weight_bytes\":\(weights.vision.byteCount),"
                    + "\"peak_rss_bytes\":\(memory.peakBytes),\"baseline_rss_bytes\":\(baseline.currentBytes),"
                    + "\"model\":\(JSONText.string(source)),"
                    + "\"kernels\":\(JSONText.string(compute.isa)),"
                    + "\"block_kernels\":\(JSONText.string(compute.blockISA)),"
                    + "\"l2_budget_bytes\":\(Kernels.l2Budget),"
                    + "\"precision\":\(JSONText.string(weights.precision.rawValue)),"
                    + "\"int8_kernel\":\(JSONText.string(compute.int8ISA)),\(accuracyReport.json)"
                    + "\"probe_embedding\":\(JSONLine.array(probeEmbedding))}")
        }
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    private func percentile(_ sorted: [Double], _ q: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }

    private func round3(_ x: Double) -> String { String(format: "%.3f", x) }
}

/// The middle value of `values` (the upper of the two middle ones for an even count); `values` is not empty.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// VmHWM / VmRSS from /proc/self/status (zero where unavailable).
struct ProcessMemory {
    var peakBytes = 0
    var currentBytes = 0
    var peakMB: Int { peakBytes / 1_000_000 }
    var currentMB: Int { currentBytes / 1_000_000 }

    /// User + system CPU time of the whole process so far, all threads (getrusage): on a shared machine the wall
    /// clock also counts waiting.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
            getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func read() -> ProcessMemory {
        var memory = ProcessMemory()
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return memory }
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kB = Int(parts[1]) else { continue }
            if parts[0] == "VmHWM:" { memory.peakBytes = kB * 1024 }
            if parts[0] == "VmRSS:" { memory.currentBytes = kB * 1024 }
        }
        return memory
    }
}

extension ComputeOptions.Kernels: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension ZeroPoints: ExpressibleByArgument {}
