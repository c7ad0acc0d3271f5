import ArgumentParser
import VLMPipeline
import VLMVideo

/// Options shared by the commands that read video (`probe`, `run`): sampling, tiles, scene gate, live-input
/// behaviour. Every option is nil until given, so `apply(to:)` changes only what the user asked for; the defaults
/// are VLMVideo's (`VideoSourceOptions`, `SceneChangeGate.Configuration`).
struct VideoOptions: ParsableArguments {
    private static let defaults = VideoSourceOptions()
    private static let gateDefaults = SceneChangeGate.Configuration()

    // `.unconditional`: `--fps -1` is a value (refused by validate()), not an unknown flag `-1`.
    @Option(
        parsing: .unconditional,
        help: "Frames encoded per second of video, chosen by timestamp (default \(defaults.sampling)).")
    var fps: Double?

    @Option(parsing: .unconditional, help: "Encode every Nth decoded frame instead of sampling by time.")
    var every: Int?

    @Flag(help: "Encode keyframes only (the other frames are not even decoded).")
    var keyframes = false

    @Option(help: "Extra tile views besides the whole frame, as COLUMNSxROWS (e.g. 2x2).")
    var tiles: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Scene gate: frames that barely changed reuse the last embedding instead of being encoded (default on).")
    var gate: Bool?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Scene gate: mean luma difference (0-255) that counts as a change; 0 disables the gate. "
                + "Default \(gateDefaults.meanThreshold)."))
    var sceneThreshold: Double?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Scene gate: re-encode at least this often (seconds) even when nothing changed. "
                + "Default \(gateDefaults.maxReuseInterval ?? 0)."))
    var maxReuse: Double?

    @Option(
        parsing: .unconditional,
        help: "Live inputs: seconds without data before the input counts as dropped. Default \(defaults.ioTimeout).")
    var ioTimeout: Double?

    @Option(
        parsing: .unconditional,
        help:
            "Live inputs: longest wait between reconnect attempts, in seconds. Default \(defaults.reconnect.maxDelay).")
    var reconnectMaxDelay: Double?

    @Option(
        parsing: .unconditional,
        help: "Live inputs: give up after this many failed reconnect attempts in a row. Default: never.")
    var reconnectAttempts: Int?

    @Option(help: "RTSP transport: tcp or udp. Default \(defaults.rtspTransport).")
    var rtspTransport: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "An MP4 on stdin whose index follows its media is spooled to a temporary file of at most this many MiB. "
                + "Default \(defaults.pipeSpoolLimit >> 20)."))
    var stdinSpoolLimitMb: Int64?

    @Option(name: .customLong("input-option"), help: "FFmpeg demuxer/protocol option KEY=VALUE (repeatable).")
    var inputOptions: [String] = []

    func validate() throws {
        let chosen = [fps != nil, every != nil, keyframes].filter { $0 }.count
        guard chosen <= 1 else { throw ValidationError("Give only one of --fps, --every and --keyframes.") }
        if let tiles, TileGrid(parsing: tiles) == nil {
            throw ValidationError("--tiles must look like 2x2 (columns x rows, at most 64 tiles).")
        }
        if let sceneThreshold, !(sceneThreshold >= 0) {
            throw ValidationError("--scene-threshold must be 0 or more (0 turns the gate off).")
        }
        // The ranges are SourceSpec's: check the source these options make, named by flag.
        var source = SourceSpec(url: "-", gate: SceneChangeGate.Configuration())
        apply(to: &source.options)
        apply(toGate: &source.gate)
        if let problem = source.problem {
            throw ValidationError("\(Self.flags[problem.key] ?? problem.key) \(problem.requirement).")
        }
        for option in inputOptions where !option.contains("=") || option.hasPrefix("=") {
            throw ValidationError("--input-option '\(option)' must be KEY=VALUE, e.g. video_size=1280x720.")
        }
    }

    /// The option that sets each key of a source.
    static let flags = [
        "sampling.fps": "--fps", "sampling.every": "--every", "gate.threshold": "--scene-threshold",
        "gate.max_reuse": "--max-reuse", "live.io_timeout": "--io-timeout",
        "live.reconnect_max_delay": "--reconnect-max-delay", "live.reconnect_attempts": "--reconnect-attempts",
        "live.rtsp_transport": "--rtsp-transport", "stdin_spool_limit_mb": "--stdin-spool-limit-mb",
    ]

    /// The names of the options given, for errors about options that cannot apply.
    var given: [String] {
        var names: [String] = []
        if fps != nil { names.append("--fps") }
        if every != nil { names.append("--every") }
        if keyframes { names.append("--keyframes") }
        if tiles != nil { names.append("--tiles") }
        if let gate { names.append(gate ? "--gate" : "--no-gate") }
        if sceneThreshold != nil { names.append("--scene-threshold") }
        if maxReuse != nil { names.append("--max-reuse") }
        if ioTimeout != nil { names.append("--io-timeout") }
        if reconnectMaxDelay != nil { names.append("--reconnect-max-delay") }
        if reconnectAttempts != nil { names.append("--reconnect-attempts") }
        if rtspTransport != nil { names.append("--rtsp-transport") }
        if stdinSpoolLimitMb != nil { names.append("--stdin-spool-limit-mb") }
        if !inputOptions.isEmpty { names.append("--input-option") }
        return names
    }

    // MARK: - Applying

    /// Sets what was given on the spec's one source. With several sources a per-source option is ambiguous: that
    /// is an error naming the options (set them per source in the file instead).
    func apply(to spec: inout PipelineSpec) throws {
        let names = given
        guard !names.isEmpty else { return }
        guard spec.sources.count == 1 else { throw OptionError.perSource(names, sources: spec.sources.count) }
        apply(to: &spec.sources[0].options)
        apply(toGate: &spec.sources[0].gate)
    }

    /// Sets the given sampling, tiles, live-input and FFmpeg options.
    func apply(to options: inout VideoSourceOptions) {
        if keyframes { options.sampling = .keyframes }
        if let every { options.sampling = .every(every) }
        if let fps { options.sampling = .fps(fps) }
        if let tiles { options.tiles = TileGrid(parsing: tiles) }
        if let ioTimeout { options.ioTimeout = ioTimeout }
        if let reconnectMaxDelay { options.reconnect.maxDelay = reconnectMaxDelay }
        if let reconnectAttempts { options.reconnect.maxAttempts = reconnectAttempts }
        if let rtspTransport { options.rtspTransport = rtspTransport }
        if let mb = stdinSpoolLimitMb {
            options.pipeSpoolLimitMiB = mb
        }
        for option in inputOptions {
            let parts = option.split(separator: "=", maxSplits: 1)
            options.formatOptions[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
    }

    /// Turns the gate on or off and sets its thresholds (`--scene-threshold 0` is off).
    func apply(toGate gate: inout SceneChangeGate.Configuration?) {
        if self.gate == false || sceneThreshold == 0 {
            gate = nil
            return
        }
        guard self.gate == true || sceneThreshold != nil || maxReuse != nil else { return }
        var configuration = gate ?? SceneChangeGate.Configuration()
        if let sceneThreshold { configuration.meanThreshold = sceneThreshold }
        if let maxReuse { configuration.maxReuseInterval = maxReuse }
        gate = configuration
    }

    // MARK: - Without a spec (`probe`)

    /// The sampling policy chosen (VLMVideo's default, 2 fps, unless given).
    var sampling: SamplingPolicy {
        var options = VideoSourceOptions()
        apply(to: &options)
        return options.sampling
    }

    /// Source options for an encoder taking `imageSize`-pixel squares.
    func sourceOptions(imageSize: Int, previewWidth: Int? = nil, streamName: String? = nil) -> VideoSourceOptions {
        var options = VideoSourceOptions()
        apply(to: &options)
        options.imageSize = imageSize
        options.lumaSize = gateConfiguration != nil ? options.lumaSize : 0
        options.previewWidth = previewWidth
        options.streamName = streamName
        return options
    }

    /// The scene gate's thresholds (on by default), or nil when the gate is off.
    var gateConfiguration: SceneChangeGate.Configuration? {
        var gate: SceneChangeGate.Configuration? = SceneChangeGate.Configuration()
        apply(toGate: &gate)
        return gate
    }
}
