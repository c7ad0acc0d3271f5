import Foundation
import TestSupport
import Testing

/// `vlm-stream models quantize` run as a subprocess on the tiny checkpoint, and the int8 checkpoint it writes used by
/// `embed` with no flag.
@Suite struct ModelsQuantizeCLITests {
    @Test("quantize, then embed with the int8 checkpoint: identical to --precision int8 on the original")
    func quantizeThenEmbed() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("quantize-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let quantize = try CLIRunner.run(["models", "quantize", "Tests/Fixtures/tiny-clip", "--out", out.path])
        #expect(quantize.status == 0, "\(quantize.stderr)")
        #expect(quantize.stdout.contains("int8-per-row-v2"), "\(quantize.stdout)")
        for name in ["config.json", "preprocessor_config.json", "vocab.json", "merges.txt", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
        }
        let image = ["embed", "image", "Tests/Fixtures/images/graf.png", "Tests/Fixtures/still.png"]
        let text = ["embed", "text", "a photo of a cat", "a red car"]
        for command in [image, text] {
            let fromFile = try CLIRunner.run(command + ["--model", out.path])
            let atLoad = try CLIRunner.run(command + ["--model", "Tests/Fixtures/tiny-clip", "--precision", "int8"])
            let fp32 = try CLIRunner.run(command + ["--model", "Tests/Fixtures/tiny-clip"])
            #expect(fromFile.status == 0 && atLoad.status == 0 && fp32.status == 0, "\(fromFile.stderr)")
            #expect(fromFile.lines.count == command.count - 2)
            // Floats are printed in their shortest round-trip form: equal text is equal bits.
            #expect(fromFile.stdout == atLoad.stdout)
            #expect(fromFile.stdout != fp32.stdout)
        }
        // Asking fp32 of it is one clear line and a failure.
        let refused = try CLIRunner.run(text + ["--model", out.path, "--precision", "fp32"])
        #expect(refused.status != 0)
        #expect(
            refused.stderr.contains("int8 weights") && refused.stderr.contains("--precision fp32"), "\(refused.stderr)")
        // A second quantize into the same directory is refused, the first output intact.
        let again = try CLIRunner.run(["models", "quantize", "Tests/Fixtures/tiny-clip", "--out", out.path])
        #expect(again.status != 0 && again.stderr.contains("already exists"), "\(again.stderr)")
        #expect(try CLIRunner.run(text + ["--model", out.path]).status == 0)
    }
}
