import VLMCore

/// Errors of pipeline setup and runs, each one line naming the thing and what to do.
public enum PipelineError: UserFacingError, Equatable {
    /// An output file could not be created.
    case cannotWrite(String)
    /// The graph did not drain within the deadline after a stop request.
    case drainTimeout(Double)
    /// The metrics port could not be bound.
    case metricsPort(Int, String)

    /// One line for the terminal.
    public var description: String {
        switch self {
        case .cannotWrite(let path):
            return "cannot write '\(path)': check that its directory exists and is writable"
        case .drainTimeout(let seconds):
            return "the pipeline did not drain within \(seconds) s after the stop request; results may be incomplete"
        case .metricsPort(let port, let reason):
            return "cannot serve metrics on port \(port): \(reason); choose another --metrics-port"
        }
    }
}
