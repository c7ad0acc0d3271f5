import VLMCore

/// Errors of pipeline setup and runs, each one line naming the thing and what to do.
public enum PipelineError: UserFacingError, Equatable {
    /// An output file could not be created.
    case cannotWrite(String)
    /// The graph did not drain within the deadline after a stop request.
    case drainTimeout(Double)
    /// An output would replace a file the run reads (`what`, e.g. `sources[0]`), or another output.
    case outputOverwrites(output: String, path: String, what: String)
    /// Results could not be written to an output (a full disk, `/dev/full`, a closed pipe); later ones were lost.
    case writeFailed(String, String)

    /// One line for the terminal.
    public var description: String {
        switch self {
        case .cannotWrite(let path):
            return "cannot write '\(path)': check that its directory exists and is writable"
        case .writeFailed(let name, let reason):
            return "cannot write results to \(name) (\(reason)): free space or choose another output; results were lost"
        case .outputOverwrites(let output, let path, let what):
            return "\(output) '\(path)' is \(what): opening it would erase it; write to another file"
        case .drainTimeout(let seconds):
            return "the pipeline did not drain within \(seconds) s after the stop request; results may be incomplete"
        }
    }
}
