import Foundation
import TestSupport
import Testing
import VLMMatch

/// Config files, YAML layering and validation messages.
@Suite struct SettingsTests {
    @Test func committedConfigsEqualTheBuiltInDefaults() throws {
        let root = Fixtures.root.appendingPathComponent("Configs")
        let prompts = try MatchSettings.load(from: root.appendingPathComponent("prompts.yaml"))
        #expect(prompts.prompts == PromptSet.standard)
        let match = try MatchSettings.load(from: root.appendingPathComponent("match.yaml"))
        #expect(match == MatchSettings())
    }

    @Test func fileKeysOverrideOnlyWhatTheyName() throws {
        var base = MatchSettings()
        base.gap = 3
        let merged = try MatchSettings.parse(
            yaml: "enter: 0.7\nnegatives: [\"a parking lot\"]\n", path: "x", over: base)
        #expect(merged.enter == 0.7 && merged.gap == 3 && merged.exit == 0.5)
        #expect(merged.prompts.negatives == ["a parking lot"])
        #expect(merged.prompts.templates == PromptSet.standard.templates)
        #expect(try MatchSettings.parse(yaml: "", path: "x", over: base) == base)
        // Round trip: encoding the defaults gives a complete file that reads back the same.
        let text = try String(decoding: JSONEncoder().encode(MatchSettings()), as: UTF8.self)
        #expect(try MatchSettings.parse(yaml: text, path: "x") == MatchSettings())
    }

    @Test func badFilesGiveOneLineNamingTheProblem() throws {
        let cases: [(String, String)] = [
            ("enter: 0.6\nexti: 0.4\n", "unknown key \"exti\""),
            ("enter: high\n", "`enter` should be Double"),
            ("- a\n- b\n", "expected a mapping"),
            ("enter: [1, 2\n", "not valid YAML"),
            ("exit: 0.7\n", "--exit: 0.7 is above --enter 0.6"),
            ("enter: 1.5\n", "--enter: 1.5 is outside 0...1"),
            ("templates: [\"a photo\"]\n", "has no {} where the query goes"),
            ("negatives: []\n", "no negative prompts"),
        ]
        let dir = try Fixtures.temporaryDirectory("match-config")
        for (yaml, message) in cases {
            let file = dir.appendingPathComponent("bad.yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            do {
                _ = try MatchSettings.load(from: file)
                Issue.record("accepted: \(yaml)")
            } catch let error as MatchError {
                let line = error.description
                #expect(line.hasPrefix("match config \(file.path): "), "\(line)")
                #expect(line.contains(message), "\(line)")
                #expect(!line.contains("\n"))
            }
        }
        #expect(throws: MatchError.self) { try MatchSettings.load(from: dir.appendingPathComponent("missing.yaml")) }
    }

    @Test func validateChecksEveryRange() {
        var s = MatchSettings()
        s.minDuration = -1
        #expect(throws: MatchError.invalidSetting(name: "--min-duration", reason: "-1.0 must be 0 or more seconds")) {
            try s.validate()
        }
        s = MatchSettings()
        s.updateInterval = .infinity
        #expect(throws: MatchError.self) { try s.validate() }
        s = MatchSettings()
        s.baselineWindow = -3
        #expect(throws: MatchError.self) { try s.validate() }
    }
}
