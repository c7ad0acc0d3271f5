import Foundation
import VLMCore

/// Why captioning could not start or continue; every case reads as one actionable line.
public enum CaptionError: UserFacingError, Equatable {
    /// The vocabulary file could not be read.
    case unreadableVocabulary(path: String, reason: String)
    /// The vocabulary file is not valid YAML or does not have the expected shape.
    case malformedVocabulary(path: String, detail: String)
    /// The vocabulary parses but cannot produce sentences (an empty slot, a prompt without `{sentence}`...).
    case invalidVocabulary(path: String, detail: String)
    /// The text encoder returned something unusable.
    case encoderFailed(detail: String)
    /// A caption option is out of range.
    case invalidOption(String)
    /// A subtitle file could not be written.
    case unwritableSubtitles(path: String, reason: String)

    /// One line naming the thing that is wrong and what to do.
    public var description: String {
        switch self {
        case .unreadableVocabulary(let path, let reason):
            return "cannot read caption vocabulary \(path): \(reason); check the path given to --caption-vocabulary"
        case .malformedVocabulary(let path, let detail):
            return "caption vocabulary \(path) is malformed: \(detail); compare it with Configs/captions.yaml"
        case .invalidVocabulary(let path, let detail):
            return "caption vocabulary \(path) is invalid: \(detail); compare it with Configs/captions.yaml"
        case .encoderFailed(let detail):
            return "the text encoder failed while composing captions: \(detail)"
        case .invalidOption(let detail):
            return detail
        case .unwritableSubtitles(let path, let reason):
            return "cannot write subtitles to \(path): \(reason); choose a writable path for --srt/--vtt"
        }
    }
}
