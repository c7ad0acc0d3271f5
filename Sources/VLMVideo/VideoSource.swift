import CFFmpeg
import Foundation
import Logging
import VLMCore

/// Decodes a video input and hands out its sampled frames, already resized and cropped for the encoder as
/// ``VideoSourceOptions/preprocessing`` says, and turned upright as the stream's display matrix (or `rotate` tag)
/// says: views, tile boxes, luma and preview are all of the displayed picture.
///
/// Pull frames with ``next()`` from one thread (calls are serialised by a lock); call ``cancel()`` from any
/// thread to interrupt a blocked read and end the source. Times are the stream's presentation times in seconds
/// from its start (never frame counters), plus wall-clock times for non-file inputs. Live inputs (network streams
/// without a stated duration, cameras) reconnect after a drop with capped exponential backoff and report it
/// through `onEvent`; files, pipes and VOD URLs end at EOF. A pipe blocked in `read(2)` is not interruptible; it
/// ends when the writer closes it. A damaged file
/// throws ``VideoError/damaged(input:seconds:reason:)`` after the frames before the damage have been returned.
///
/// ```swift
/// let source = try VideoSource(.file("plaza.mp4"), options: options, logger: logger)
/// while let sampled = try source.next() { encode(sampled.frame) }
/// ```
public final class VideoSource: @unchecked Sendable {
    // @unchecked: all mutable state below is touched only with `lock` held (next() and the accessors take it);
    // `interrupt` has its own lock so cancel() never waits for a blocked read.

    /// The input this source reads.
    public let input: VideoInput
    /// The options it was opened with.
    public let options: VideoSourceOptions
    /// The stream name used in frames and logs.
    public let streamName: String

    let logger: Logger
    let onEvent: (@Sendable (VideoSourceEvent) -> Void)?
    let interrupt: InterruptState
    /// Recursive, so an `onEvent` handler may read ``info`` while `next()` reports an event.
    let lock = NSRecursiveLock()

    // MARK: - State guarded by `lock`

    var demuxer: Demuxer?
    var decoder: Decoder?
    var videoIndex: Int32 = -1
    var timeBase = AVRational(num: 1, den: 1)
    /// Presentation timestamp (stream time base) that maps to 0 s: the stream's start_time or its first frame's.
    var startTimestamp: Int64?
    /// Seconds added to the current connection's times so that they continue across reconnects.
    var timeOffset: Double = 0
    /// After a reconnect: the time the next frame should get (last time + wall-clock gap).
    var rebaseTo: Double?
    var wallClockStart: Date?
    var currentInfo: StreamInfo
    var sampler: FrameSampler
    let converter: FrameConverter
    /// How the current frame's stored pixels are turned for display.
    var orientation = VideoOrientation.identity
    /// The stream's stated orientation (display matrix or `rotate` tag); nil when it states none, and then each
    /// frame's own display matrix side data, if any, decides.
    var streamOrientation: VideoOrientation?
    let packet: UnsafeMutablePointer<AVPacket>
    let decoded: UnsafeMutablePointer<AVFrame>
    var draining = false
    var finished = false
    /// An error to throw once the decoder has given back every frame before the damage.
    var pendingError: VideoError?
    /// Why the current connection ended, for live inputs (nil: not ended).
    var dropReason: String?
    var decodedCount = 0
    var lastSeconds: Double = 0
    var lastPacketEnd: Double = 0
    var corruptPackets = 0
    /// The input is one still picture (an image demuxer: `image2`, `jpeg_pipe`…), whose concealed damage is an error.
    var stillImage = false
    /// Reconnect attempts since the last decoded frame: a link that connects but delivers nothing keeps backing
    /// off instead of restarting at the initial delay.
    var failedReconnects = 0

    /// Opens `input` and prepares decoding; throws ``VideoError`` (one line naming the input) if it cannot.
    ///
    /// `cancellation`, if given, can stop the source from another thread even before `init` returns (an open
    /// blocked on a slow server then throws ``VideoError/cannotOpen(input:reason:)`` with reason "cancelled").
    public init(
        _ input: VideoInput, options: VideoSourceOptions = VideoSourceOptions(),
        cancellation: SourceCancellation = SourceCancellation(), logger: Logger = Logger(label: "vlm.video"),
        onEvent: (@Sendable (VideoSourceEvent) -> Void)? = nil
    ) throws(VideoError) {
        self.interrupt = cancellation.state
        try FFmpegRuntime.install()
        try Self.validate(options.preprocessing)
        if let caption = options.captionPreprocessing { try Self.validate(caption) }
        self.input = input
        self.options = options
        self.streamName = options.streamName ?? input.defaultStreamName
        var logger = logger
        logger[metadataKey: "stream"] = "\(streamName)"
        self.logger = logger
        self.onEvent = onEvent
        self.sampler = FrameSampler(policy: options.sampling)
        self.converter = FrameConverter()
        self.packet = av_packet_alloc()
        self.decoded = av_frame_alloc()
        self.currentInfo = StreamInfo(
            input: input.description, container: "", codec: "", width: 0, height: 0, nominalFPS: nil, duration: nil,
            estimatedFrameCount: nil, isLive: input.isLive, hasAudio: false)
        try connect()
        logger.info("opened \(currentInfo.summary), sampling \(options.sampling)")
        onEvent?(.opened(currentInfo))
    }

    deinit {
        decoder = nil
        demuxer = nil
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packet)
        var frame: UnsafeMutablePointer<AVFrame>? = decoded
        av_frame_free(&frame)
    }

    // MARK: - Public API

    /// Stream parameters of the current connection.
    public var info: StreamInfo {
        lock.lock()
        defer { lock.unlock() }
        return currentInfo
    }

    /// Frames decoded so far (sampled or not).
    public var decodedFrameCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return decodedCount
    }

    /// Packets the decoder refused so far (damaged data it skipped): a file with some is only partly decoded.
    public var undecodablePacketCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return corruptPackets
    }

    /// Interrupts a blocked read or backoff wait; ``next()`` then returns nil. Safe from any thread.
    public func cancel() {
        interrupt.cancel()
    }

    /// The next sampled frame, or nil at the end (EOF, cancelled, or a live input that gave up reconnecting
    /// throws instead). Throws ``VideoError/damaged(input:seconds:reason:)`` after the last good frame of a
    /// damaged file.
    public func next() throws(VideoError) -> SampledFrame? {
        lock.lock()
        defer { lock.unlock() }
        return try nextLocked()
    }

    // MARK: - Opening

    /// Refuses a preprocessing description whose output size is not fixed or not positive.
    static func validate(_ preprocessing: ImagePreprocessing) throws(VideoError) {
        var sizes = [preprocessing.cropWidth, preprocessing.cropHeight]
        switch preprocessing.size {
        case .shortestEdge(let edge): sizes.append(edge)
        case .exact(let h, let w): sizes += [h, w]
        }
        guard preprocessing.hasFixedOutputSize, sizes.allSatisfy({ $0 > 0 && $0 <= 8192 }) else {
            throw .invalidRequest(
                "image preprocessing needs sizes between 1 and 8192 and a fixed output size (a centre crop, or an "
                    + "exact resize)")
        }
    }

    /// Opens the demuxer and decoder for `input` and fills `currentInfo`.
    func connect() throws(VideoError) {
        let demuxer = try Demuxer(
            input: input, options: options.formatOptions, rtspTransport: options.rtspTransport,
            ioTimeout: options.ioTimeout, interrupt: interrupt, pipeSpoolLimit: options.pipeSpoolLimit,
            maxPixels: options.maxFramePixels)
        guard let index = demuxer.bestStream(AVMEDIA_TYPE_VIDEO) else { throw .noVideoStream(input: input.description) }
        let stream = demuxer.stream(index)
        // Tell the demuxer not to hand us packets of other streams' codecs to parse more than needed.
        for i in 0..<Int32(demuxer.formatContext.pointee.nb_streams) where i != index {
            demuxer.stream(i).pointee.discard = AVDISCARD_ALL
        }
        let parameters = stream.pointee.codecpar.pointee
        let (width, height) = (Int(parameters.width), Int(parameters.height))
        guard width * height <= options.maxFramePixels else {
            throw .cannotOpen(
                input: input.description,
                reason: "its frames are \(width)×\(height), more than the \(options.maxFramePixels) pixels a frame may "
                    + "have")
        }
        let keyframesOnly = options.sampling == .keyframes
        stillImage = demuxer.formatName == "image2" || demuxer.formatName.hasSuffix("_pipe")
        let decoder = try Decoder(
            stream: stream, threads: options.decoderThreads, keyframesOnly: keyframesOnly, strict: stillImage,
            maxPixels: options.maxFramePixels, input: input.description)
        self.demuxer = demuxer
        self.decoder = decoder
        videoIndex = index
        timeBase = stream.pointee.time_base
        let start = stream.pointee.start_time
        startTimestamp = start != cffmpeg_nopts_value() ? start : nil
        let realtime = demuxer.formatContext.pointee.start_time_realtime
        wallClockStart =
            realtime > 0 && realtime != cffmpeg_nopts_value()
            ? Date(timeIntervalSince1970: Double(realtime) / 1_000_000) : nil
        streamOrientation = VideoOrientation.isStated(in: stream) ? VideoOrientation(stream: stream) : nil
        orientation = streamOrientation ?? .identity
        draining = false
        dropReason = nil
        currentInfo = makeInfo(demuxer: demuxer, decoder: decoder, stream: stream)
    }

    private func makeInfo(
        demuxer: Demuxer, decoder: Decoder, stream: UnsafeMutablePointer<AVStream>
    ) -> StreamInfo {
        let rate = av_guess_frame_rate(demuxer.formatContext, stream, nil)
        let fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : nil
        let streamDuration = stream.pointee.duration
        var duration: Double? =
            streamDuration > 0 && streamDuration != cffmpeg_nopts_value()
            ? Double(streamDuration) * av_q2d(stream.pointee.time_base) : nil
        if duration == nil { duration = demuxer.duration }
        let stated = Int(stream.pointee.nb_frames)
        // Int(exactly:): a damaged container's duration times its frame rate can pass Int.max (a trap with Int()).
        let frames: Int? = stated > 0 ? stated : zip(duration, fps).flatMap { Int(exactly: ($0 * $1).rounded()) }
        let parameters = stream.pointee.codecpar.pointee
        let size = orientation.displayedSize(width: Int(parameters.width), height: Int(parameters.height))
        return StreamInfo(
            input: input.description, container: demuxer.formatName, codec: decoder.codecName,
            width: size.width, height: size.height, nominalFPS: fps, duration: duration,
            estimatedFrameCount: frames, isLive: input.isLive, hasAudio: demuxer.bestStream(AVMEDIA_TYPE_AUDIO) != nil,
            orientation: orientation)
    }
}

/// `zip` for optionals.
func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// A handle that cancels a ``VideoSource`` from any thread, including while it is still opening.
public final class SourceCancellation: Sendable {
    let state = InterruptState()

    public init() {}

    /// Interrupts the source's blocked open, read or reconnect wait; its `next()` then returns nil.
    public func cancel() {
        state.cancel()
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { state.isCancelled }
}
