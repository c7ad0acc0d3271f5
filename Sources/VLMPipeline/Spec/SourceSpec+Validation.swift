import VLMVideo

/// A setting that cannot work: its key under its section (`sampling.fps` under `sources[i]`) and what it must be.
public struct SettingProblem: Sendable, Equatable {
    /// The key under its section, e.g. `live.io_timeout`.
    public var key: String
    /// The rest of the sentence: `must be positive seconds`.
    public var requirement: String
}

extension SourceSpec {
    /// The first setting that cannot work, or nil. The one range check of a source's settings: a pipeline file
    /// reports it as `sources[i].<key> <requirement>`, the command line under the flag that sets the key.
    public var problem: SettingProblem? {
        func problem(_ key: String, _ requirement: String) -> SettingProblem {
            SettingProblem(key: key, requirement: requirement)
        }
        if let fps = options.sampling.fps, !(fps > 0) {
            return problem("sampling.fps", "must be a positive number of frames per second")
        }
        if let every = options.sampling.every, every < 1 { return problem("sampling.every", "must be 1 or more") }
        if let gate {
            guard gate.meanThreshold > 0 else { return problem("gate.threshold", "must be positive") }
            guard (gate.maxReuseInterval ?? 1) > 0 else { return problem("gate.max_reuse", "must be positive seconds") }
        }
        guard live.queue >= 1 else { return problem("live.queue", "must be at least 1") }
        guard options.ioTimeout > 0 else { return problem("live.io_timeout", "must be positive seconds") }
        guard options.reconnect.maxDelay > 0 else {
            return problem("live.reconnect_max_delay", "must be positive seconds")
        }
        if let attempts = options.reconnect.maxAttempts, attempts < 1 {
            return problem("live.reconnect_attempts", "must be 1 or more (leave it out to retry forever)")
        }
        guard options.pipeSpoolLimit > 0 else {
            return problem("stdin_spool_limit_mb", "must be at least 1 (MiB of an MP4 piped on stdin kept on disk)")
        }
        guard ["tcp", "udp"].contains(options.rtspTransport) else {
            return problem("live.rtsp_transport", "must be tcp or udp, not '\(options.rtspTransport)'")
        }
        return nil
    }
}
