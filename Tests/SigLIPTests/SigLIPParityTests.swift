import Foundation
import TestSupport
import Testing

@testable import CLIP

/// SigLIP and SigLIP 2 against transformers' `SiglipModel` (scripts/golden/make_tiny_siglip.py): every activation
/// within 1e-4 × max(1, max |reference|), probabilities within 1e-5, logit_scale and logit_bias. tiny-siglip-p14
/// (scripts/golden/make_tiny_siglip_p14.py) has so400m-patch14-384's shape in small: a side that is not a multiple of
/// the patch, and a head_dim that is not a multiple of 8.
@Suite("SigLIP parity with transformers")
struct SigLIPParityTests {
    static let models = ["tiny-siglip", "tiny-siglip2"]
    static let golden = Fixtures.url("tiny-siglip-golden")

    static func golden(for model: String) -> URL {
        model == "tiny-siglip-p14" ? Fixtures.url("tiny-siglip-p14-golden") : golden
    }

    static func tolerance(_ reference: [Float]) -> Float { 1e-4 * max(1, Golden.maxAbs(reference)) }
    static func report(_ line: String) {
        if ProcessInfo.processInfo.environment["GOLDEN_REPORT"] != nil { print(line) }
    }

    @Test("image tower activations match", arguments: models + ["tiny-siglip-p14"])
    func vision(model: String) throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url(model))
        #expect(weights.config.family == .siglip)
        let encoder = CLIPVisionModel(weights: weights)
        let golden = Self.golden(for: model)
        let pixels = try Golden.tensor("\(model).vision.pixel_values", in: golden)
        var seen: [String: [Float]] = [:]
        let embeddings = try pixels.values.withUnsafeBufferPointer {
            try encoder.encode(pixelValues: $0, batch: pixels.shape[0]) { name, values in seen[name] = Array(values) }
        }
        let names =
            ["embeddings"] + (0..<weights.config.vision.numHiddenLayers).map { "layer\($0)" }
            + ["post_layernorm", "head_attention", "pooled", "image_embeds"]
        for name in names {
            let reference = try Golden.tensor("\(model).vision.\(name)", in: golden)
            let ours = try #require(seen[name], "no activation \(name)")
            let error = Golden.maxAbsDifference(ours, reference.values)
            #expect(error <= Self.tolerance(reference.values), "\(model) vision \(name): max abs error \(error)")
            Self.report("parity \(model) vision \(name) max_abs_err=\(error) scale=\(Golden.maxAbs(reference.values))")
        }
        let final = try Golden.tensor("\(model).vision.image_embeds", in: golden).values
        #expect(Golden.maxAbsDifference(embeddings.flatMap(\.values), final) <= 1e-5)
        // Unobserved (several workers, one image each) gives the same embeddings.
        let plain = try encoder.encode(pixelValues: pixels.values, batch: pixels.shape[0])
        #expect(Golden.maxAbsDifference(plain.flatMap(\.values), final) <= 1e-5)
    }

    @Test("text tower activations match", arguments: models)
    func text(model: String) throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url(model))
        let encoder = CLIPTextModel(weights: weights)
        let manifest = try Golden.manifest(in: Self.golden)
        let cases = try #require(manifest["\(model).text.cases"] as? [[String: Any]])
        let ids = try cases.map { try #require($0["ids"] as? [Int]).map(Int32.init) }
        for (n, sequence) in ids.enumerated() {
            #expect(sequence.count == 64)
            var seen: [String: [Float]] = [:]
            _ = try encoder.encode(tokenIDs: [sequence]) { name, values in seen[name] = Array(values) }
            for (ours, theirs) in [
                ("last_hidden_state", "last_hidden_state"), ("pooled", "pooled"), ("projected", "head"),
                ("text_embeds", "text_embeds"),
            ] {
                let reference = try Golden.tensor("\(model).text.case\(n).\(theirs)", in: Self.golden)
                let error = Golden.maxAbsDifference(try #require(seen[ours]), reference.values)
                #expect(error <= Self.tolerance(reference.values), "\(model) text case \(n) \(theirs): error \(error)")
                Self.report("parity \(model) text case\(n) \(theirs) max_abs_err=\(error)")
            }
        }
        // All cases in one batch, unobserved (the last block runs for the last position alone).
        let batched = try encoder.encode(tokenIDs: ids)
        for (n, embedding) in batched.enumerated() {
            let reference = try Golden.tensor("\(model).text.case\(n).text_embeds", in: Self.golden).values
            #expect(Golden.maxAbsDifference(embedding.values, reference) <= 1e-5, "batched case \(n)")
        }
    }

    @Test("logit scale, bias and probabilities match", arguments: models)
    func probabilities(model: String) throws {
        let clip = try CLIPModel.load(directory: Fixtures.url(model))
        let manifest = try Golden.manifest(in: Self.golden)
        let scale = try #require(manifest["\(model).logit_scale"] as? Double)
        let bias = try #require(manifest["\(model).logit_bias"] as? Double)
        #expect(abs(Double(clip.logitScale) - scale) <= 1e-5 * scale)
        #expect(abs(Double(try #require(clip.logitBias)) - bias) <= 1e-6)
        #expect(clip.family == .siglip)
        // The texts through the model's own tokenizer, the golden pixels through the image tower.
        let texts = try #require(manifest["\(model).texts"] as? [String])
        let textEmbeddings = try clip.encode(texts: texts)
        let pixels = try Golden.tensor("\(model).vision.pixel_values", in: Self.golden)
        let images = try clip.vision.encode(pixelValues: pixels.values, batch: pixels.shape[0])
        let logits = try Golden.tensor("\(model).logits_per_text", in: Self.golden)
        let probabilities = try Golden.tensor("\(model).probabilities", in: Self.golden)
        var logitError: Float = 0
        var probabilityError: Float = 0
        for (t, text) in textEmbeddings.enumerated() {
            for (i, image) in images.enumerated() {
                let cosine = zip(text.values, image.values).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let logit = clip.logitScale * cosine + (clip.logitBias ?? 0)
                let p = 1 / (1 + exp(-logit))
                logitError = max(logitError, abs(logit - logits.values[t * images.count + i]))
                probabilityError = max(probabilityError, abs(p - probabilities.values[t * images.count + i]))
            }
        }
        Self.report("parity \(model) logits max_abs_err=\(logitError) probabilities max_abs_err=\(probabilityError)")
        #expect(logitError <= 1e-4 * max(1, Golden.maxAbs(logits.values)))
        #expect(probabilityError <= 1e-5)
    }

    @Test("tokenizer ids equal transformers' on a mixed corpus", arguments: models)
    func tokenizer(model: String) throws {
        let tokenizer = try SentencePieceTokenizer(directory: Fixtures.url(model), contextLength: 64)
        #expect(tokenizer.flavor == (model == "tiny-siglip" ? .siglip : .gemma))
        let corpus = try #require(Golden.manifest(in: Self.golden)["\(model).tokenizer"] as? [[String: Any]])
        #expect(corpus.count > 400)
        var mismatches = 0
        for entry in corpus {
            let text = try #require(entry["text"] as? String)
            let expected = try #require(entry["ids"] as? [Int]).map(Int32.init)
            let ours = try tokenizer.encode(text)
            if ours != expected {
                mismatches += 1
                Issue.record(
                    "\(model) \(text.debugDescription.prefix(60)): \(ours.prefix(20)) != \(expected.prefix(20))")
            }
        }
        Self.report("tokenizer \(model): \(corpus.count - mismatches)/\(corpus.count) identical")
    }

    /// Found by the sentencepiece-tokenizer fuzz target: an 8.5 KB prompt with hundreds of special tokens took
    /// seconds (one processor call per segment); encoding now stops once the kept 64 ids are settled, and the ids
    /// are still transformers' (scripts/golden/make_special_prompt_goldens.py).
    @Test("prompts crowded with special tokens give transformers' ids", arguments: models)
    func crowdedPrompts(model: String) throws {
        let tokenizer = try SentencePieceTokenizer(directory: Fixtures.url(model), contextLength: 64)
        let data = try Data(contentsOf: Fixtures.url("special-prompt-goldens.json"))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
        let cases = try #require(all[model])
        #expect(cases.count == 6)
        for entry in cases {
            let text = try #require(entry["text"] as? String)
            let expected = try #require(entry["ids"] as? [Int]).map(Int32.init)
            let ours = try tokenizer.encode(text)
            #expect(ours == expected, "\(model): \(text.count) characters: \(ours) vs \(expected)")
        }
    }
}

/// tokenizer_config.json's `padding_side`: "left" pads in front (as transformers does); absent means right.
@Suite("SigLIP 2 tokenizer padding side")
struct SigLIPPaddingSideTests {
    static func tokenizer(config edit: (inout [String: Any]) -> Void) throws -> SentencePieceTokenizer {
        let directory = try Fixtures.copy("tiny-siglip2")
        let url = directory.appendingPathComponent("tokenizer_config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return try SentencePieceTokenizer(directory: directory)
    }

    @Test func leftPaddingMatchesTransformers() throws {
        let left = try Self.tokenizer { $0["padding_side"] = "left" }
        let corpus = try #require(
            Golden.manifest(in: SigLIPParityTests.golden)["tiny-siglip2.tokenizer_left"] as? [[String: Any]])
        #expect(corpus.count == 60)
        for entry in corpus {
            let text = try #require(entry["text"] as? String)
            #expect(try left.encode(text) == (try #require(entry["ids"] as? [Int])).map(Int32.init), "\(text)")
        }
        let absent = try Self.tokenizer { $0["padding_side"] = nil }
        let right = try SentencePieceTokenizer(directory: Fixtures.url("tiny-siglip2"))
        #expect(try absent.encode("a photo of a cat") == (try right.encode("a photo of a cat")))
        #expect(throws: CLIPLoadError.self) { try Self.tokenizer { $0["padding_side"] = "middle" } }
    }
}

/// A Gemma tokenizer.model with the piece types of the real one (control `<mask>`, `<start_of_turn>`, `<unused…>`;
/// user-defined newline runs and HTML tags) and no add_bos_token / add_eos_token / padding_side in its config:
/// transformers' ids (scripts/golden/make_gemma_tokenizer.py) on the mixed corpus and on prompts crowded with those
/// pieces, with what tokenizer.json says transformers 5 adds and pads, and with that file gone.
@Suite("Gemma tokenizer pieces and defaults")
struct GemmaTokenizerTests {
    static let fixture = Fixtures.url("gemma-tokenizer")

    static func cases() throws -> [(text: String, ids: [Int32])] {
        let data = try Data(contentsOf: fixture.appendingPathComponent("goldens.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["tokenizer_class"] as? String == "GemmaTokenizer")
        return try #require(json["cases"] as? [[String: Any]]).map { entry in
            (try #require(entry["text"] as? String), try #require(entry["ids"] as? [Int]).map(Int32.init))
        }
    }

    @Test func idsEqualTransformers() throws {
        let tokenizer = try SentencePieceTokenizer(directory: Self.fixture, contextLength: 64)
        let cases = try Self.cases()
        #expect(cases.count > 500)
        // The goldens exercise what this test is about: control pieces in text, no <bos>/<eos>, left padding.
        #expect(cases.contains { $0.ids.contains(4) && $0.ids.contains(8) })
        let plain = try #require(cases.first { $0.text == "a photo of a dog" }).ids
        #expect(plain.first == 0 && !plain.contains(2) && !plain.contains(1))
        var mismatches = 0
        for (text, expected) in cases {
            let ours = try tokenizer.encode(text)
            if ours != expected {
                mismatches += 1
                Issue.record("\(text.debugDescription.prefix(60)): \(ours) != \(expected)")
            }
        }
        #expect(mismatches == 0)
    }

    /// Without tokenizer.json the flags fall back to GemmaTokenizer's own (no <bos>, no <eos>, left padding), as
    /// transformers 5 builds it from tokenizer.model alone; the config's flags win over either.
    @Test func flagsWithoutTokenizerJSONAndFromTheConfig() throws {
        let directory = try Fixtures.copy("gemma-tokenizer")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("tokenizer.json"))
        let (text, expected) = try #require(try Self.cases().first { $0.text == "a photo of a dog" })
        #expect(try SentencePieceTokenizer(directory: directory).encode(text) == expected)
        let config = directory.appendingPathComponent("tokenizer_config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        json["add_bos_token"] = true
        json["add_eos_token"] = true
        json["padding_side"] = "right"
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let words = expected.filter { $0 != 0 }
        let padding = [Int32](repeating: 0, count: 64 - words.count - 2)
        #expect(try SentencePieceTokenizer(directory: directory).encode(text) == [2] + words + [1] + padding)
    }
}

/// `str.lower()` as SiglipTokenizer (and a `Siglip2Tokenizer` config) runs it: the expected strings are Python 3.11's
/// own results, including its final-sigma rule (Σ → ς at the end of a word, past case-ignorable marks like `.` `'`
/// and combining accents).
@Suite("Python lower()")
struct PythonLowercaseTests {
    @Test(
        arguments: [
            ("ΟΔΟΣ", "οδος"), ("ΣΑΣ ΟΔΟΣ.", "σας οδος."), ("Σ", "σ"), ("AΣ", "aς"), ("AΣ\u{301}", "aς\u{301}"),
            ("AΣ\u{301}B", "aσ\u{301}b"), ("A.Σ", "a.ς"), ("1Σ", "1σ"), ("A'Σ", "a'ς"), ("ΣΑ", "σα"),
            ("İSTANBUL", "i\u{307}stanbul"), ("Straße ǅ", "straße ǆ"),
        ])
    func lowercase(_ text: String, _ python: String) {
        #expect(SentencePieceTokenizer.lowercased(text).unicodeScalars.elementsEqual(python.unicodeScalars))
    }
}
