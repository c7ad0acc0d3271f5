import CFFmpeg
import CFFmpegLoader
import Foundation

/// An open `AVFormatContext` (libavformat's demuxer) for one input; closed on deinit. Never leaves the module.
final class Demuxer {
    let input: VideoInput
    private(set) var context: UnsafeMutablePointer<AVFormatContext>?
    /// Kept alive as long as `context`: its address is the interrupt callback's `opaque`.
    let interrupt: InterruptState
    /// For a pipe: the reader that peeked at it and the AVIOContext FFmpeg reads it through (custom I/O, freed
    /// here after the format context).
    private var pipeReader: PipeReader?
    private var customIO: UnsafeMutablePointer<AVIOContext>?

    /// Loads libavdevice and registers its inputs on first use: nil, or why it could not be loaded.
    private static let registerDevices: String? = cffmpeg_register_devices().map { String(cString: $0) }

    /// Opens `input` (`avformat_open_input`) and reads stream parameters (`avformat_find_stream_info`).
    ///
    /// Live inputs get `rw_timeout`/RTSP `timeout` and a deadline of `ioTimeout` enforced by the interrupt
    /// callback, so neither a dead camera nor a silent server can block the open forever. The pictures
    /// `avformat_find_stream_info` decodes to learn the parameters are held to `maxPixels` as a `Decoder`'s are (their
    /// decoders' `max_pixels`): a picture declaring far more is not allocated. `formatName` forces one of FFmpeg's
    /// demuxers for a file instead of letting it probe (`ImageFile` names an image demuxer, so that no upload is read
    /// as a playlist of other files).
    init(
        input: VideoInput, formatName: String? = nil, options: [String: String] = [:], rtspTransport: String = "tcp",
        ioTimeout: Double? = nil,
        interrupt: InterruptState = InterruptState(), pipeSpoolLimit: Int64 = VideoSourceOptions().pipeSpoolLimit,
        maxPixels: Int = VideoSourceOptions().maxFramePixels
    ) throws(VideoError) {
        self.input = input
        self.interrupt = interrupt
        var dict: OpaquePointer? = nil
        defer { av_dict_free(&dict) }
        var format: UnsafePointer<AVInputFormat>? = nil
        var url = input.ffmpegURL
        var spooled: URL?
        defer { if let spooled { unlink(spooled.path) } }
        switch input {
        case .network(let url):
            if let ioTimeout {
                let micros = String(Int64(ioTimeout * 1_000_000))
                av_dict_set(&dict, "rw_timeout", micros, 0)
                if url.lowercased().hasPrefix("rtsp") { av_dict_set(&dict, "timeout", micros, 0) }
            }
            let scheme = url.lowercased()
            if scheme.hasPrefix("rtsp") { av_dict_set(&dict, "rtsp_transport", rtspTransport, 0) }
            // Progressive HTTP files resume with range requests after a drop; live streams are reopened by
            // VideoSource instead (reconnect_streamed stays off).
            if scheme.hasPrefix("http") { av_dict_set(&dict, "reconnect", "1", 0) }
        case .camera:
            if let failure = Demuxer.registerDevices {
                throw .cannotOpen(
                    input: input.description,
                    reason: "libavdevice could not be loaded (\(failure)); install Debian's libavdevice59")
            }
            format = av_find_input_format("video4linux2")
        case .pipe(let fd):
            if Demuxer.isRegularFile(fd) {
                url = "/dev/fd/\(fd)"  // `< clip.mp4`: a file after all, and seekable
                break
            }
            Demuxer.makeInterruptible(fd)
            let reader = PipeReader(fd: fd, name: input.description, interrupt: interrupt)
            if try reader.peekLayout() == .needsSeeking {
                spooled = try reader.spool(limit: pipeSpoolLimit)
                url = spooled!.path  // deleted (by the defer above) once FFmpeg has it open
            } else {
                guard let io = reader.makeContext() else {
                    throw .cannotOpen(input: input.description, reason: "out of memory")
                }
                pipeReader = reader
                customIO = io
            }
        case .file:
            if let formatName {
                guard let forced = av_find_input_format(formatName) else {
                    throw .cannotOpen(input: input.description, reason: "FFmpeg has no '\(formatName)' demuxer")
                }
                format = forced
            }
        }
        for (key, value) in options { av_dict_set(&dict, key, value, 0) }

        guard var ctx = avformat_alloc_context() else {
            throw .cannotOpen(input: input.description, reason: "out of memory")
        }
        ctx.pointee.interrupt_callback = interrupt.callback
        if let customIO {
            ctx.pointee.pb = customIO
            ctx.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        }
        interrupt.arm(timeout: input.isLive ? ioTimeout : nil)
        defer { interrupt.arm(timeout: nil) }
        var optional: UnsafeMutablePointer<AVFormatContext>? = ctx
        let opened = avformat_open_input(&optional, url, format, &dict)
        guard opened >= 0, let openedContext = optional else {
            let reason = interrupt.isCancelled ? "cancelled" : Demuxer.explain(AVErrorCode(rawValue: opened), input)
            throw .cannotOpen(input: input.description, reason: reason)
        }
        // FFmpeg takes out of the dictionary every option its demuxer or protocol knows; one left is a typo.
        if let unknown = options.keys.sorted().first(where: { av_dict_get(dict, $0, nil, 0) != nil }) {
            let name = openedContext.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "this"
            avformat_close_input(&optional)
            throw .cannotOpen(
                input: input.description,
                reason: "FFmpeg's \(name) input has no option '\(unknown)'; check --input-option (input_options)")
        }
        ctx = openedContext
        context = ctx
        var streamOptions = [OpaquePointer?](repeating: nil, count: Int(ctx.pointee.nb_streams))
        let limit = "\(Decoder.codedPixelLimit(maxPixels))"
        for i in streamOptions.indices { av_dict_set(&streamOptions[i], "max_pixels", limit, 0) }
        defer { for i in streamOptions.indices { av_dict_free(&streamOptions[i]) } }
        let found = streamOptions.withUnsafeMutableBufferPointer {
            avformat_find_stream_info(ctx, $0.isEmpty ? nil : $0.baseAddress)
        }
        if found < 0 {
            throw .cannotOpen(input: input.description, reason: Demuxer.explain(AVErrorCode(rawValue: found), input))
        }
    }

    deinit {
        avformat_close_input(&context)
        if customIO != nil {
            av_freep(&customIO!.pointee.buffer)
            avio_context_free(&customIO)
        }
    }

    var formatContext: UnsafeMutablePointer<AVFormatContext> { context! }

    /// `av_find_best_stream` for `type` (preferring streams related to `related`), or nil.
    func bestStream(_ type: AVMediaType, relatedTo related: Int32 = -1) -> Int32? {
        let index = av_find_best_stream(formatContext, type, -1, related, nil, 0)
        return index >= 0 ? index : nil
    }

    func stream(_ index: Int32) -> UnsafeMutablePointer<AVStream> {
        formatContext.pointee.streams[Int(index)]!
    }

    /// `av_read_frame` into `packet`; returns nil on success, the error code otherwise (`.endOfFile` at the end).
    func read(into packet: UnsafeMutablePointer<AVPacket>) -> AVErrorCode? {
        let ret = av_read_frame(formatContext, packet)
        return ret < 0 ? AVErrorCode(rawValue: ret) : nil
    }

    /// The container's own name for itself (`mov,mp4,m4a,3gp,3g2,mj2`, `rtsp`, `video4linux2,v4l2`).
    var formatName: String {
        formatContext.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
    }

    /// Container duration in seconds, if known.
    var duration: Double? {
        let d = formatContext.pointee.duration
        return d > 0 && d != cffmpeg_nopts_value() ? Double(d) / Double(AV_TIME_BASE) : nil
    }

    private static func isRegularFile(_ fd: Int32) -> Bool {
        var status = stat()
        return fstat(fd, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// Puts a FIFO into non-blocking mode, so FFmpeg's pipe protocol polls (sleeping 1 ms on EAGAIN) and checks the
    /// interrupt callback between polls: `cancel()` then ends a source whose writer has stalled. Terminals and
    /// regular files are left alone (their open file description may be shared with the shell).
    private static func makeInterruptible(_ fd: Int32) {
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Turns an open/read failure into a sentence: what it means for this kind of input and what to check.
    static func explain(_ code: AVErrorCode, _ input: VideoInput) -> String {
        switch (code, input) {
        case (.noSuchFile, .file): return "no such file; check the path"
        case (.noSuchFile, .camera): return "no such device; list cameras with `v4l2-ctl --list-devices`"
        case (.invalidData, .network):
            // Also what RTSP gives when the server accepts the connection and never answers within the I/O timeout.
            return "no stream FFmpeg recognises came from the server (\(code)); check the URL and that the stream is up"
        case (.invalidData, _): return "not a video FFmpeg recognises, or the file is corrupt (\(code))"
        case (.outOfMemory, _) where !input.isLive:
            return "the container's index (the MP4 `moov` atom) is damaged: FFmpeg could not read it (\(code)); "
                + "re-download or re-mux the file"
        case (.exit, _), (.timedOut, _): return "timed out; check that the stream is up and reachable"
        default: return code.description.isEmpty ? "error \(code.rawValue)" : code.description
        }
    }
}
