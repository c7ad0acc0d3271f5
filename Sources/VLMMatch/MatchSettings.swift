/// Every knob of query matching, with defaults. Read from YAML (`Configs/match.yaml`, or a `match:` section of a
/// pipeline file) and overridden by CLI flags; call `validate()` after changing values.
///
/// The thresholds apply to the calibrated score in 0...1 described on `ScoreCalibrator`.
public struct MatchSettings: Sendable, Equatable {
    /// A score at or above this opens a match (`--enter`).
    public var enter: Double = 0.6
    /// While open, a match continues as long as the score stays at or above this (`--exit`); below it, the gap
    /// tolerance starts counting. Hysteresis: `exit <= enter`.
    public var exit: Double = 0.5
    /// Seconds a match must last before `start` is emitted (`--min-duration`); shorter blips emit nothing.
    public var minDuration: Double = 0.5
    /// Seconds the score may stay below `exit` without ending the match (`--gap`): bridges dropouts and flicker.
    public var gap: Double = 1.0
    /// Seconds between `update` events of an open match (`--update-interval`); 0 turns updates off.
    public var updateInterval: Double = 5.0
    /// Seconds of history in each query's rolling-median baseline (`--baseline`); 0 turns the baseline off.
    public var baselineWindow: Double = 60.0
    /// Cosine margin a frame must clear above the query's baseline to count as "more than usual".
    public var baselineMargin: Double = 0.0
    /// With a sigmoid-trained model (SigLIP), also discount its probability by the negatives and the rolling
    /// baseline (`--sigmoid-references`; see `ScoreCalibrator`). Off by default: SigLIP's probability is already
    /// calibrated per query. CLIP always uses them.
    public var sigmoidReferences: Bool = false
    /// Emit a `StreamResult.score` for every query and frame (`--scores`), not only events.
    public var emitScores: Bool = false
    /// Templates and negative prompts.
    public var prompts: PromptSet = .standard

    /// The defaults.
    public init() {}

    /// Throws `MatchError.invalidSetting` naming the first value out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ reason: String) throws {
            if !ok { throw MatchError.invalidSetting(name: name, reason: reason) }
        }
        try check((0...1).contains(enter), "--enter", "\(enter) is outside 0...1; scores are probabilities")
        try check((0...1).contains(exit), "--exit", "\(exit) is outside 0...1; scores are probabilities")
        try check(exit <= enter, "--exit", "\(exit) is above --enter \(enter); the exit threshold must not exceed it")
        try check(
            minDuration >= 0 && minDuration.isFinite, "--min-duration", "\(minDuration) must be 0 or more seconds")
        try check(gap >= 0 && gap.isFinite, "--gap", "\(gap) must be 0 or more seconds")
        try check(
            updateInterval >= 0 && updateInterval.isFinite, "--update-interval",
            "\(updateInterval) must be 0 (off) or more seconds")
        try check(
            baselineWindow >= 0 && baselineWindow.isFinite, "--baseline",
            "\(baselineWindow) must be 0 (off) or more seconds")
        try check(
            abs(baselineMargin) < 1, "baseline_margin", "\(baselineMargin) must be a cosine difference within -1...1")
        try prompts.validate()
    }
}

// MARK: - YAML keys

extension MatchSettings: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case enter, exit, gap, templates, negatives, scores
        case minDuration = "min_duration"
        case updateInterval = "update_interval"
        case baselineWindow = "baseline"
        case baselineMargin = "baseline_margin"
        case sigmoidReferences = "sigmoid_references"
    }

    /// Decodes the YAML keys `enter`, `exit`, `min_duration`, `gap`, `update_interval`, `baseline`,
    /// `baseline_margin`, `sigmoid_references`, `scores`, `templates`, `negatives`; every key is optional (missing → default) and an
    /// unknown key is an error, so a typo never silently falls back to a default.
    public init(from decoder: any Decoder) throws {
        let names = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = names.first(where: { CodingKeys(rawValue: $0) == nil }) {
            let known = CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "unknown key \"\(unknown)\" (known: \(known))"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        enter = try c.decodeIfPresent(Double.self, forKey: .enter) ?? enter
        exit = try c.decodeIfPresent(Double.self, forKey: .exit) ?? exit
        minDuration = try c.decodeIfPresent(Double.self, forKey: .minDuration) ?? minDuration
        gap = try c.decodeIfPresent(Double.self, forKey: .gap) ?? gap
        updateInterval = try c.decodeIfPresent(Double.self, forKey: .updateInterval) ?? updateInterval
        baselineWindow = try c.decodeIfPresent(Double.self, forKey: .baselineWindow) ?? baselineWindow
        baselineMargin = try c.decodeIfPresent(Double.self, forKey: .baselineMargin) ?? baselineMargin
        sigmoidReferences = try c.decodeIfPresent(Bool.self, forKey: .sigmoidReferences) ?? sigmoidReferences
        emitScores = try c.decodeIfPresent(Bool.self, forKey: .scores) ?? emitScores
        prompts.templates = try c.decodeIfPresent([String].self, forKey: .templates) ?? prompts.templates
        prompts.negatives = try c.decodeIfPresent([String].self, forKey: .negatives) ?? prompts.negatives
    }

    /// Encodes every key, so `encode(MatchSettings())` is a complete config file.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(enter, forKey: .enter)
        try c.encode(exit, forKey: .exit)
        try c.encode(minDuration, forKey: .minDuration)
        try c.encode(gap, forKey: .gap)
        try c.encode(updateInterval, forKey: .updateInterval)
        try c.encode(baselineWindow, forKey: .baselineWindow)
        try c.encode(baselineMargin, forKey: .baselineMargin)
        try c.encode(sigmoidReferences, forKey: .sigmoidReferences)
        try c.encode(emitScores, forKey: .scores)
        try c.encode(prompts.templates, forKey: .templates)
        try c.encode(prompts.negatives, forKey: .negatives)
    }
}

/// Any string key, to list the keys a YAML mapping actually has.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
