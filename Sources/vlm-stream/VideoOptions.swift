import ArgumentParser
import VLMVideo

/// Options shared by the commands that read video (`probe`, `run`, `index`): sampling, tiles, scene gate,
/// live-input behaviour.
struct VideoOptions: ParsableArguments {
    @Option(help: "Frames encoded per second of video, chosen by timestamp (default 2).")
    var fps: Double?

    @Option(help: "Encode every Nth decoded frame instead of sampling by time.")
    var every: Int?

    @Flag(help: "Encode keyframes only (the other frames are not even decoded).")
    var keyframes = false

    @Option(help: "Extra tile views besides the whole frame, as COLUMNSxROWS (e.g. 2x2).")
    var tiles: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Scene gate: frames that barely changed reuse the last embedding instead of being encoded.")
    var gate = true

    @Option(help: "Scene gate: mean luma difference (0-255) that counts as a change; 0 disables the gate.")
    var sceneThreshold: Double = 4

    @Option(help: "Scene gate: re-encode at least this often (seconds) even when nothing changed.")
    var maxReuse: Double = 5

    @Option(help: "Live inputs: seconds without data before the input counts as dropped.")
    var ioTimeout: Double = 10

    @Option(help: "Live inputs: longest wait between reconnect attempts, in seconds.")
    var reconnectMaxDelay: Double = 30

    @Option(help: "RTSP transport: tcp or udp.")
    var rtspTransport: String = "tcp"

    @Option(name: .customLong("input-option"), help: "FFmpeg demuxer/protocol option KEY=VALUE (repeatable).")
    var inputOptions: [String] = []

    func validate() throws {
        let chosen = [fps != nil, every != nil, keyframes].filter { $0 }.count
        guard chosen <= 1 else { throw ValidationError("Give only one of --fps, --every and --keyframes.") }
        if let fps, !(fps > 0) { throw ValidationError("--fps must be a positive number of frames per second.") }
        if let every, every < 1 { throw ValidationError("--every must be 1 or more (1 = every frame).") }
        if let tiles, TileGrid(parsing: tiles) == nil {
            throw ValidationError("--tiles must look like 2x2 (columns x rows, at most 64 tiles).")
        }
        guard sceneThreshold >= 0 else { throw ValidationError("--scene-threshold must be 0 or more.") }
        guard ioTimeout > 0, reconnectMaxDelay > 0 else {
            throw ValidationError("--io-timeout and --reconnect-max-delay must be positive seconds.")
        }
        guard ["tcp", "udp"].contains(rtspTransport) else { throw ValidationError("--rtsp-transport is tcp or udp.") }
        for option in inputOptions where !option.contains("=") {
            throw ValidationError("--input-option '\(option)' must be KEY=VALUE, e.g. video_size=1280x720.")
        }
    }

    /// The sampling policy chosen (2 fps by default).
    var sampling: SamplingPolicy {
        if keyframes { return .keyframes }
        if let every { return .every(every) }
        return .fps(fps ?? 2)
    }

    /// Source options for an encoder taking `imageSize`-pixel squares.
    func sourceOptions(imageSize: Int, previewWidth: Int? = nil, streamName: String? = nil) -> VideoSourceOptions {
        var options = VideoSourceOptions()
        options.sampling = sampling
        options.imageSize = imageSize
        options.tiles = tiles.flatMap(TileGrid.init(parsing:))
        options.lumaSize = gateConfiguration != nil ? 32 : 0
        options.previewWidth = previewWidth
        options.streamName = streamName
        options.ioTimeout = ioTimeout
        options.reconnect.maxDelay = reconnectMaxDelay
        options.rtspTransport = rtspTransport
        for option in inputOptions {
            let parts = option.split(separator: "=", maxSplits: 1)
            options.formatOptions[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return options
    }

    /// The scene gate's thresholds, or nil when the gate is off.
    var gateConfiguration: SceneChangeGate.Configuration? {
        guard gate, sceneThreshold > 0 else { return nil }
        return SceneChangeGate.Configuration(meanThreshold: sceneThreshold, maxReuseInterval: maxReuse)
    }
}
