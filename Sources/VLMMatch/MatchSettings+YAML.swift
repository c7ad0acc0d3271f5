import Foundation
import VLMCore
import Yams

extension MatchSettings {
    /// Reads a match config (all keys optional, see `init(from:)`) and validates it.
    ///
    /// A prompts file (`Configs/prompts.yaml`, `--templates`) uses the same reader: it simply sets only
    /// `templates` and `negatives`. Pass `base` to layer a file over settings already loaded.
    public static func load(from url: URL, over base: MatchSettings = MatchSettings()) throws -> MatchSettings {
        let text: String
        do {
            text = try TextFile.read(url)
        } catch {
            throw MatchError.invalidConfig(path: url.path, reason: error.description)
        }
        let settings = try parse(yaml: text, path: url.path, over: base)
        do {
            try settings.validate()
        } catch let error as MatchError {
            throw MatchError.invalidConfig(path: url.path, reason: error.description)
        }
        return settings
    }

    /// `validate()` names settings by their flags (`--enter`); a settings file names them by its keys (`enter`).
    public static func withFileKeys(_ message: String, prefix: String = "") -> String {
        let keys = [
            ("--min-duration", "min_duration"), ("--update-interval", "update_interval"), ("--baseline", "baseline"),
            ("--enter", "enter"), ("--exit", "exit"), ("--gap", "gap"), ("baseline_margin", "baseline_margin"),
        ]
        var text = message
        for (flag, key) in keys { text = text.replacingOccurrences(of: flag, with: prefix + key) }
        return text
    }

    /// Parses YAML text; keys it lacks keep their value in `base`. Does not validate.
    public static func parse(yaml text: String, path: String, over base: MatchSettings = MatchSettings()) throws
        -> MatchSettings
    {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw MatchError.invalidConfig(path: path, reason: "not valid YAML (\(oneLine(error)))")
        }
        guard let node else { return base }
        guard let mapping = node.mapping else {
            throw MatchError.invalidConfig(path: path, reason: "expected a mapping of keys like `enter: 0.6`")
        }
        let overlay: MatchSettings
        do {
            overlay = try YAMLDecoder().decode(MatchSettings.self, from: node)
        } catch {
            throw MatchError.invalidConfig(path: path, reason: oneLine(error))
        }
        // Take from the file only the keys it names; everything else stays as in `base`.
        var merged = base
        let keys = Set(mapping.keys.compactMap(\.string))
        if keys.contains("enter") { merged.enter = overlay.enter }
        if keys.contains("exit") { merged.exit = overlay.exit }
        if keys.contains("min_duration") { merged.minDuration = overlay.minDuration }
        if keys.contains("gap") { merged.gap = overlay.gap }
        if keys.contains("update_interval") { merged.updateInterval = overlay.updateInterval }
        if keys.contains("baseline") { merged.baselineWindow = overlay.baselineWindow }
        if keys.contains("baseline_margin") { merged.baselineMargin = overlay.baselineMargin }
        if keys.contains("scores") { merged.emitScores = overlay.emitScores }
        if keys.contains("templates") { merged.prompts.templates = overlay.prompts.templates }
        if keys.contains("negatives") { merged.prompts.negatives = overlay.prompts.negatives }
        return merged
    }
}

/// An error as one short line (DecodingError's descriptions span several).
private func oneLine(_ error: any Error) -> String {
    switch error {
    case DecodingError.dataCorrupted(let context):
        return context.debugDescription
    case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
        let key = context.codingPath.map(\.stringValue).joined(separator: ".")
        return "\(key.isEmpty ? "a value" : "`\(key)`") should be \(type)"
    default:
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }
}
