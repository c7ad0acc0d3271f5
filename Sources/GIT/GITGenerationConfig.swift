import Foundation

/// The decoding settings of `generate()`: transformers' `GenerationConfig` defaults, overridden by the checkpoint's
/// `generation_config.json`, then by the caller (`--beams`, `--max-tokens`).
public struct GITGenerationConfig: Sendable, Equatable {
    /// When beam search stops (`early_stopping`): `true` as soon as `numBeams` hypotheses are finished; `false`
    /// (default) when the best running beam, at its current length, can no longer beat the worst finished one;
    /// `"never"` the same estimate at the longest possible length when `length_penalty > 0`.
    public enum EarlyStopping: Sendable, Equatable {
        case heuristic, always, never
    }

    /// `num_beams` (1: greedy).
    public var numBeams = 1
    /// `length_penalty`: finished hypotheses score `Σ log p / (generated length) ^ length_penalty`.
    public var lengthPenalty: Float = 1
    public var earlyStopping = EarlyStopping.heuristic
    /// `max_new_tokens`; when nil, `max_length` (prompt included, 20 by default) decides.
    public var maxNewTokens: Int?
    /// `max_length`: prompt plus generated tokens.
    public var maxLength = 20
    public var bosTokenID: Int
    public var eosTokenID: Int
    public var padTokenID: Int

    /// transformers' defaults with the model's special tokens.
    public init(config: GITConfig) {
        bosTokenID = config.bosTokenID
        eosTokenID = config.eosTokenID
        padTokenID = config.padTokenID
    }

    /// Tokens to generate after a prompt of `promptLength` tokens.
    public func newTokens(promptLength: Int) -> Int { maxNewTokens ?? max(0, maxLength - promptLength) }

    /// `config`'s defaults overlaid with the fields `generation_config.json` at `url` sets (a missing file keeps
    /// the defaults; a malformed one is an error naming it).
    public static func load(from url: URL, config: GITConfig) throws -> GITGenerationConfig {
        var result = GITGenerationConfig(config: config)
        guard FileManager.default.fileExists(atPath: url.path) else { return result }
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw GITLoadError(file: url.path, "is not a JSON object") }
        func int(_ key: String) throws -> Int? {
            switch object[key] {
            case nil, is NSNull: return nil
            case let value as Int: return value
            case let list as [Int] where !list.isEmpty: return list[0]
            default: throw GITLoadError(file: url.path, "field \(key) is not an integer")
            }
        }
        result.numBeams = try int("num_beams") ?? result.numBeams
        result.maxNewTokens = try int("max_new_tokens") ?? result.maxNewTokens
        result.maxLength = try int("max_length") ?? result.maxLength
        result.bosTokenID = try int("bos_token_id") ?? result.bosTokenID
        result.eosTokenID = try int("eos_token_id") ?? result.eosTokenID
        result.padTokenID = try int("pad_token_id") ?? result.padTokenID
        if let penalty = object["length_penalty"] as? Double { result.lengthPenalty = Float(penalty) }
        switch object["early_stopping"] {
        case let flag as Bool: result.earlyStopping = flag ? .always : .heuristic
        case let word as String where word == "never": result.earlyStopping = .never
        case nil, is NSNull: break
        default: throw GITLoadError(file: url.path, "early_stopping must be true, false or \"never\"")
        }
        guard result.numBeams >= 1, result.numBeams <= 64 else {
            throw GITLoadError(file: url.path, "num_beams \(result.numBeams) is outside 1…64")
        }
        // Negative lengths gave empty captions (and Int.min an overflow trap in `newTokens`).
        guard (1...100_000).contains(result.maxLength) else {
            throw GITLoadError(file: url.path, "max_length \(result.maxLength) is outside 1…100000")
        }
        if let tokens = result.maxNewTokens, !(1...100_000).contains(tokens) {
            throw GITLoadError(file: url.path, "max_new_tokens \(tokens) is outside 1…100000")
        }
        return result
    }
}
