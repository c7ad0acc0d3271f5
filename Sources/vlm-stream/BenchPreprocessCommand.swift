import ArgumentParser
import CLIP
import Foundation
import VLMCore

/// `vlm-stream bench preprocess`: CLIP image preprocessing and tokenizer throughput.
struct BenchPreprocessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Time CLIP image preprocessing (resize, crop, normalise) and tokenization; prints medians.",
        discussion: """
            Images are synthetic frames of each --sizes entry preprocessed to 224 px (openai/clip-vit-base-patch32's
            settings); texts are distinct generated captions, tokenized cold (empty word cache) and warm. The
            vocabulary comes from --model (default: the test fixture, so run it from the repository root; any CLIP
            checkpoint has the same vocabulary). Only 224 px preprocessing is timed, whatever the model's size. The
            last line is a JSON object.
            """
    )

    @Option(help: "Comma-separated WxH input sizes.")
    var sizes: String = "640x480,1280x720,1920x1080"

    @Option(help: "Repetitions per size.")
    var repeats: Int = 20

    @Option(help: "Captions to tokenize.")
    var texts: Int = 2000

    @Option(
        help: ArgumentHelp(
            "A checkpoint directory or hub name for the tokenizer vocabulary.",
            valueName: "dir|name"))
    var model: String = "Tests/Fixtures/tiny-clip"

    func validate() throws {
        guard repeats >= 1, texts >= 1 else { throw ValidationError("--repeats and --texts must be at least 1.") }
        guard parsedSizes() != nil else { throw ValidationError("--sizes must look like 640x480,1280x720.") }
    }

    func parsedSizes() -> [(Int, Int)]? {
        let parts = sizes.split(separator: ",").map { $0.split(separator: "x").compactMap { Int($0) } }
        guard parts.allSatisfy({ $0.count == 2 && $0[0] > 0 && $0[1] > 0 }) else { return nil }
        return parts.map { ($0[0], $0[1]) }
    }

    func run() async throws {
        try await reportingErrors {
            let directory = try ModelLocator.resolve(model)
            var results: [String: Double] = [:]
            let pre = CLIPImagePreprocessor.openAI
            for (w, h) in parsedSizes() ?? [] {
                var pixels = [UInt8](repeating: 0, count: w * h * 3)
                for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
                let image = RGBImage(width: w, height: h, pixels: pixels)
                var times: [Double] = []
                for _ in 0..<repeats {
                    let t = DispatchTime.now()
                    _ = pre.pixelValues(image)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e6)
                }
                let middle = median(times)
                results["preprocess_\(w)x\(h)_ms"] = middle
                print(String(format: "preprocess %5dx%-5d → 224x224   median %.2f ms", w, h, middle))
            }
            let words = [
                "a", "photo", "of", "the", "red", "car", "person", "walking", "dog", "street", "night",
                "crossing", "two", "people", "blue", "truck", "warehouse", "robot", "arm", "box",
            ]
            var captions: [String] = []
            for i in 0..<texts {
                var caption = "\(i)"
                for j in 0..<12 {
                    let index: Int = (i &* 31 &+ j &* 7 &+ i / 20) % words.count
                    caption += " " + words[index]
                }
                captions.append(caption)
            }
            for pass in ["cold", "warm"] {
                let tokenizer = pass == "cold" ? try CLIPTokenizer(directory: directory) : nil
                let shared = try tokenizer ?? CLIPTokenizer(directory: directory)
                if pass == "warm" { _ = shared.encode(captions) }
                let t = DispatchTime.now()
                _ = shared.encode(captions)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t.uptimeNanoseconds) / 1e9
                results["tokenize_\(pass)_texts_per_s"] = Double(texts) / seconds
                print(String(format: "tokenize %@  %8.0f texts/s", pass, Double(texts) / seconds))
            }
            let json = results.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \(String(format: "%.3f", $0.value))" }
            print("{" + json.joined(separator: ", ") + "}")
        }
    }
}
