import VLMCore

/// A checkpoint that cannot be used: names the file and what is wrong with it, on one line.
public struct CLIPLoadError: UserFacingError, Equatable {
    /// The file at fault, as the user would recognise it (`model.safetensors`, `config.json`, or a path).
    public var file: String
    /// What is wrong and, where it helps, what to do.
    public var problem: String

    /// An error about `file`.
    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
