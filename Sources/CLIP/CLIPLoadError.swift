import Foundation
import VLMCore

/// A checkpoint file the CLIP module needs is missing or unreadable.
public enum CLIPLoadError: UserFacingError, Equatable {
    /// `file` does not exist or cannot be read; `role` says what it holds.
    case missingFile(URL, String)
    /// `file` exists but its content is wrong; the string says how.
    case malformed(URL, String)

    /// One line naming the file and what to do.
    public var description: String {
        switch self {
        case .missingFile(let url, let role):
            return "\(url.path): cannot read \(role); check the model directory or run `vlm-stream models pull`"
        case .malformed(let url, let problem):
            return "\(url.path): \(problem); re-download the model (`vlm-stream models pull`)"
        }
    }
}
