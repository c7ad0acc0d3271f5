import CLIP
import Foundation
import TestSupport
import Testing

@Suite("config.json parsing")
struct CLIPConfigTests {
    @Test("legacy ViT-B/32 config: text_config with eos_token_id 2, null *_config_dict")
    func vitB32() throws {
        let config = try CLIPConfig.load(from: Fixtures.url("configs/clip-vit-base-patch32.json"))
        #expect(
            config
                == CLIPConfig.vitB32.with {
                    $0.text.eosTokenID = 2
                    $0.text.bosTokenID = 0
                })
        #expect(config.vision.tokens == 50)
        #expect(config.text.eosTokenID == 2)
    }

    @Test("legacy ViT-B/16 config: vision_config_dict's patch_size 16 wins over vision_config's 32")
    func vitB16() throws {
        let config = try CLIPConfig.load(from: Fixtures.url("configs/clip-vit-base-patch16.json"))
        #expect(config.vision.patchSize == 16)
        #expect(config.vision.tokens == 197)
        #expect(config.text.hiddenSize == 512)
        #expect(config.text.eosTokenID == 49407)  // transformers fills omitted fields with class defaults
    }

    @Test("legacy ViT-L/14 config: *_config_dict sizes win over stale blocks")
    func vitL14() throws {
        let config = try CLIPConfig.load(from: Fixtures.url("configs/clip-vit-large-patch14.json"))
        #expect(config.projectionDim == 768)
        #expect(config.vision.hiddenSize == 1024)
        #expect(config.vision.numHiddenLayers == 24)
        #expect(config.vision.numAttentionHeads == 16)
        #expect(config.vision.patchSize == 14)
        #expect(config.vision.tokens == 257)
        #expect(config.text.hiddenSize == 768)
        #expect(config.text.numAttentionHeads == 12)
    }

    @Test("modern config written by transformers 5")
    func modern() throws {
        let config = try CLIPConfig.load(from: Fixtures.url("tiny-clip/config.json"))
        #expect(config.vision.imageSize == 32)
        #expect(config.vision.patchSize == 8)
        #expect(config.text.vocabSize == 49408)
        #expect(config.text.hiddenAct == .quickGELU)
        let gelu = try CLIPConfig.load(from: Fixtures.url("tiny-clip-gelu/config.json"))
        #expect(gelu.vision.hiddenAct == .gelu)
        #expect(gelu.text.eosTokenID == 500)
    }

    @Test("image_size and eos_token_id may be lists")
    func listValues() throws {
        let json =
            #"{"vision_config": {"image_size": [336, 336], "patch_size": 14}, "#
            + #""text_config": {"eos_token_id": [49407]}}"#
        let config = try JSONDecoder().decode(CLIPConfig.self, from: Data(json.utf8))
        #expect(config.vision.imageSize == 336)
        #expect(config.text.eosTokenID == 49407)
    }

    @Test("a side that is not a multiple of the patch is covered as PyTorch's convolution covers it (so400m: 384 / 14)")
    func unevenPatchGrid() throws {
        let directory = try Fixtures.temporaryDirectory("clip-config")
        let url = directory.appendingPathComponent("config.json")
        try Data(#"{"vision_config": {"image_size": 384, "patch_size": 14}}"#.utf8).write(to: url)
        let config = try CLIPConfig.load(from: url)
        #expect(config.vision.gridSize == 27 && config.vision.tokens == 27 * 27 + 1)
    }

    @Test(
        "bad configs give one-line errors naming config.json",
        arguments: [
            (
                #"{"vision_config": {"hidden_size": 100, "num_attention_heads": 12}}"#,
                "not a multiple of num_attention_heads"
            ),
            (#"{"vision_config": {"image_size": 16}}"#, "image_size 16 is smaller than patch_size 32"),
            (#"{"vision_config": {"hidden_act": "relu"}}"#, "vision_config.hidden_act"),
            (#"{"text_config": {"vocab_size": -3}}"#, "text_config.vocab_size is -3"),
            (#"{"projection_dim": 512,"#, "not valid JSON"),
        ])
    func badConfigs(json: String, fragment: String) throws {
        let directory = try Fixtures.temporaryDirectory("clip-config")
        let url = directory.appendingPathComponent("config.json")
        try Data(json.utf8).write(to: url)
        let error = try #require(throws: CLIPLoadError.self) { try CLIPConfig.load(from: url) }
        #expect(error.description.contains(fragment), "\(error)")
        #expect(error.description.hasPrefix("config.json:") || error.description.contains("config.json"))
        #expect(!error.description.contains("\n"))
    }
}

extension CLIPConfig {
    func with(_ change: (inout CLIPConfig) -> Void) -> CLIPConfig {
        var copy = self
        change(&copy)
        return copy
    }
}
