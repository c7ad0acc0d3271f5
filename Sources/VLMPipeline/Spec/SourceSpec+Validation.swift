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
        // Every number has an upper bound too: `fps: 1e308` or `inf` must be refused here, not trap where it is
        // converted to an integer slot.
        if let fps = options.sampling.fps, !(fps > 0) {
            return problem("sampling.fps", "must be a positive number of frames per second")
        }
        if let fps = options.sampling.fps, !(fps <= Self.maxFPS) {
            return problem("sampling.fps", "must be at most \(Int(Self.maxFPS)) frames per second")
        }
        if let every = options.sampling.every, !(1...Self.maxEvery).contains(every) {
            return problem("sampling.every", "must be between 1 and \(Self.maxEvery)")
        }
        if let gate {
            guard gate.meanThreshold > 0 else { return problem("gate.threshold", "must be positive") }
            guard gate.meanThreshold.isFinite else { return problem("gate.threshold", "must be a finite number") }
            guard (gate.maxReuseInterval ?? 1) > 0 else { return problem("gate.max_reuse", "must be positive seconds") }
            guard (gate.maxReuseInterval ?? 1) <= Self.maxSeconds else {
                return problem("gate.max_reuse", "must be at most \(Int(Self.maxSeconds)) seconds")
            }
        }
        guard (1...Self.maxQueue).contains(live.queue) else {
            return problem("live.queue", "must be between 1 and \(Self.maxQueue)")
        }
        guard options.ioTimeout > 0 else { return problem("live.io_timeout", "must be positive seconds") }
        guard options.ioTimeout <= Self.maxSeconds else {
            return problem("live.io_timeout", "must be at most \(Int(Self.maxSeconds)) seconds")
        }
        guard options.reconnect.maxDelay > 0 else {
            return problem("live.reconnect_max_delay", "must be positive seconds")
        }
        guard options.reconnect.maxDelay <= Self.maxSeconds else {
            return problem("live.reconnect_max_delay", "must be at most \(Int(Self.maxSeconds)) seconds")
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

    /// The most frames per second a source may sample (far above any camera; keeps slot arithmetic in range).
    public static let maxFPS: Double = 1000
    /// The largest `every` (one frame in a million).
    public static let maxEvery = 1_000_000
    /// The longest timeout or delay, in seconds (a day).
    public static let maxSeconds: Double = 86_400
    /// The longest live frame queue.
    public static let maxQueue = 10_000
}
