import VLMCore

/// What can go wrong in VLMMatch, phrased for the person at the terminal.
public enum MatchError: UserFacingError, Equatable {
    /// A YAML config file could not be read or has a bad value.
    case invalidConfig(path: String, reason: String)
    /// A setting (flag or YAML key) is out of range.
    case invalidSetting(name: String, reason: String)
    /// A query is empty or otherwise unusable.
    case invalidQuery(String, reason: String)
    /// The text encoder failed or returned embeddings of the wrong shape.
    case encoderFailed(reason: String)

    /// One line naming the problem and what to do.
    public var description: String {
        switch self {
        case .invalidConfig(let path, let reason):
            return "match config \(path): \(reason)"
        case .invalidSetting(let name, let reason):
            return "\(name): \(reason)"
        case .invalidQuery(let query, let reason):
            return "query \"\(query)\": \(reason)"
        case .encoderFailed(let reason):
            return "text encoder failed: \(reason); check the model weights (--model)"
        }
    }
}
