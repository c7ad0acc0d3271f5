import Foundation
import TestSupport
import Testing

@testable import VLMCaption

@Suite struct VocabularyTests {
    @Test func builtInMatchesConfigsFile() throws {
        let file = try String(
            contentsOf: Fixtures.root.appendingPathComponent("Configs/captions.yaml"), encoding: .utf8)
        // Run scripts/embed-caption-vocabulary after editing Configs/captions.yaml.
        #expect(CaptionVocabulary.builtInYAML == String(file.dropLast()))
        let vocabulary = CaptionVocabulary.builtIn
        #expect(vocabulary.slots.map(\.name) == ["subject", "action", "place", "condition"])
        #expect(vocabulary.slots[0].phrases.contains { $0.text == "a group of people" })
    }

    @Test func kindsKeepIncoherentPhrasesOut() throws {
        let vocabulary = try CaptionVocabulary.parse(yaml: smallVocabularyYAML, source: "small")
        let sentences = Set(vocabulary.allSentences().map(\.sentence))
        #expect(sentences.contains("a car driving on a street at night"))
        #expect(sentences.contains("a person"))
        #expect(sentences.contains("a dog in the rain"))
        #expect(!sentences.contains { $0.hasPrefix("a car walking") })
        #expect(!sentences.contains { $0.hasPrefix("a person driving") })
        #expect(sentences.count == 132)
    }

    @Test func templatesShapePromptAndDisplay() throws {
        let vocabulary = try CaptionVocabulary.parse(yaml: smallVocabularyYAML, source: "small")
        #expect(vocabulary.promptText(for: "a dog walking") == "a photo of a dog walking.")
        #expect(vocabulary.displayText(for: "a dog walking") == "A dog walking")
    }

    @Test func malformedYAMLIsOneActionableLine() {
        let cases = [
            "slots: 3",
            "slots:\n  - name: subject\n    options: {a: [",
            "prompt: x\n",
            "slots:\n  - name: subject\n    required: maybe\n    options: [a]",
        ]
        for yaml in cases {
            #expect {
                _ = try CaptionVocabulary.parse(yaml: yaml, source: "bad.yaml")
            } throws: { error in
                guard case CaptionError.malformedVocabulary(let path, _) = error else { return false }
                let line = (error as! CaptionError).description
                return path == "bad.yaml" && !line.contains("\n") && line.contains("bad.yaml")
            }
        }
    }

    @Test func invalidVocabulariesAreRefused() {
        let cases: [(String, String)] = [
            ("slots: []", "empty"),
            ("prompt: a photo\nslots:\n  - {name: s, required: true, options: [a]}", "{sentence}"),
            ("slots:\n  - {name: s, options: [a]}", "required"),
            ("slots:\n  - {name: s, required: true, options: []}", "no options"),
            ("slots:\n  - {name: s, required: true, options: [\"  \"]}", "empty text"),
        ]
        for (yaml, expected) in cases {
            #expect {
                _ = try CaptionVocabulary.parse(yaml: yaml, source: "v.yaml")
            } throws: { error in
                guard case CaptionError.invalidVocabulary(_, let detail) = error else { return false }
                return detail.contains(expected)
            }
        }
    }

    @Test func missingFileNamesThePath() {
        #expect {
            _ = try CaptionVocabulary.load(from: URL(fileURLWithPath: "/nonexistent/captions.yaml"))
        } throws: { error in
            (error as? CaptionError)?.description.contains("/nonexistent/captions.yaml") == true
        }
    }
}
