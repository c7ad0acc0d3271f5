import CLIP
import Testing
import VLMPipeline

/// `encoder.precision` in a pipeline file.
@Suite("encoder.precision")
struct EncoderPrecisionSpecTests {
    @Test("int8 reads, writes back and reads back equal; absent is the checkpoint's own; a bad value is refused")
    func precision() throws {
        let spec = try PipelineSpec.parse(
            yaml: "sources: [{url: a.mp4}]\nqueries: [x]\nencoder: {precision: int8, batch: 4}", file: "p.yaml")
        #expect(spec.encoder.precision == .int8)
        #expect(try spec.yaml().contains("precision: int8"))
        #expect(try PipelineSpec.parse(yaml: try spec.yaml(), file: "written.yaml") == spec)
        let plain = try PipelineSpec.parse(yaml: "sources: [{url: a.mp4}]\nqueries: [x]", file: "p.yaml")
        #expect(plain.encoder.precision == nil)
        #expect(!(try plain.yaml().contains("precision")))
        #expect {
            try PipelineSpec.parse(
                yaml: "sources: [{url: a.mp4}]\nqueries: [x]\nencoder: {precision: int4}", file: "p.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("p.yaml: ") && text.contains("must be fp32 or int8, not 'int4'")
                && !text.contains("\n")
        }
    }
}
