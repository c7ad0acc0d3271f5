import CFFmpeg
import Foundation
import VLMCore

// MARK: - The decode loop (called with `lock` held)

extension VideoSource {
    func nextLocked() throws(VideoError) -> SampledFrame? {
        while !finished {
            guard let decoder else { return try finish(reason: "closed") }
            let received = decoder.receive(decoded)
            if received >= 0 {
                defer { av_frame_unref(decoded) }
                // A video conceals a damaged packet and goes on; a picture that needed it is a damaged file (the
                // mjpeg decoder fills a truncated JPEG with grey), as `ImageFile` refuses it.
                if stillImage,
                    decoded.pointee.decode_error_flags != 0 || decoded.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0
                {
                    throw damagedPicture()
                }
                if let sampled = try takeDecodedFrame() { return sampled }
                continue
            }
            switch AVErrorCode(rawValue: received) {
            case .tryAgain:
                try feedDecoder(decoder)
            case .endOfFile:
                // Every frame before the end (or the damage) has been handed out.
                if let pendingError {
                    finished = true
                    logger.info("\(pendingError)")
                    onEvent?(.ended(reason: pendingError.description))
                    throw pendingError
                }
                if let reason = dropReason, input.isLive, options.reconnect.enabled, !interrupt.isCancelled {
                    guard try reconnect(after: reason) else { return try finish(reason: "cancelled") }
                    continue
                }
                return try finish(reason: interrupt.isCancelled ? "cancelled" : (dropReason ?? "end of input"))
            case let code:
                // A decoder failure on receive is rare (the codec gave up on the stream); treat it like damage.
                if stillImage { throw damagedPicture() }
                corruptPackets += 1
                pendingError = pendingError ?? damage(code)
                startDraining(decoder)
            }
        }
        return nil
    }

    /// Reads packets until one of the video stream went to the decoder, or starts draining at the end.
    private func feedDecoder(_ decoder: Decoder) throws(VideoError) {
        guard let demuxer, !draining else { return }
        while true {
            interrupt.arm(timeout: input.isLive ? options.ioTimeout : nil)
            let failure = demuxer.read(into: packet)
            interrupt.arm(timeout: nil)
            if let failure {
                noteEndOfInput(failure, demuxer: demuxer)
                startDraining(decoder)
                return
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == videoIndex else { continue }
            notePacketTime()
            if options.sampling == .keyframes && packet.pointee.flags & AV_PKT_FLAG_KEY == 0 { continue }
            let sent = decoder.send(packet)
            if sent < 0 && AVErrorCode(rawValue: sent) != .tryAgain {
                if stillImage { throw damagedPicture() }
                corruptPackets += 1
                if corruptPackets == 1 || corruptPackets % 100 == 0 {
                    logger.info(
                        "\(input): \(corruptPackets) undecodable packet(s); last: \(AVErrorCode(rawValue: sent))")
                }
                continue
            }
            return
        }
    }

    /// Ends a still-picture input whose data is damaged (decoded strictly, as `ImageFile` does).
    private func damagedPicture() -> VideoError {
        let error = VideoError.badImage(input: input.description, reason: "truncated or corrupt image data")
        finished = true
        onEvent?(.ended(reason: error.description))
        return error
    }

    private func startDraining(_ decoder: Decoder) {
        draining = true
        _ = decoder.send(nil)
    }

    /// Classifies why `av_read_frame` stopped: a clean end, a cancel, a drop (live), or damage (file).
    private func noteEndOfInput(_ code: AVErrorCode, demuxer: Demuxer) {
        if interrupt.isCancelled { return }
        let ioError = demuxer.formatContext.pointee.pb?.pointee.error ?? 0
        switch code {
        case .endOfFile where ioError >= 0:
            if input.isLive && currentInfo.duration == nil {
                dropReason = "the stream ended"
            } else if !input.isLive, let missing = truncation() {
                // A file, or one piped to standard input: `head -c N clip.mp4 | vlm-stream -` is as truncated.
                pendingError = .damaged(input: input.description, seconds: lastPacketEnd, reason: missing)
            }
        case .exit:
            dropReason = "no data for \(options.ioTimeout) s"
            if !input.isLive { pendingError = damage(code) }
        default:
            let actual = ioError < 0 ? AVErrorCode(rawValue: ioError) : code
            if input.isLive { dropReason = actual.description } else { pendingError = damage(actual) }
        }
    }

    /// A sentence if the file stops well before the duration its container states, else nil. Uses the video
    /// stream's duration (MP4) or the container's own (Matroska's header), never one estimated from the bitrate.
    private func truncation() -> String? {
        guard let demuxer else { return nil }
        let stream = demuxer.stream(videoIndex)
        let stated = stream.pointee.duration
        let statedEnd: Double
        if stated > 0, stated != cffmpeg_nopts_value() {
            statedEnd = Double(stated) * av_q2d(timeBase)
        } else if demuxer.formatContext.pointee.duration_estimation_method == AVFMT_DURATION_FROM_STREAM,
            let duration = demuxer.duration
        {
            let start = demuxer.formatContext.pointee.start_time
            let offset = start != cffmpeg_nopts_value() ? Double(start) / Double(AV_TIME_BASE) : 0
            let streamStart = Double(startTimestamp ?? 0) * av_q2d(timeBase)
            statedEnd = duration + offset - streamStart
        } else {
            return nil
        }
        let tolerance = max(1.0, statedEnd * 0.02)
        guard lastPacketEnd + tolerance < statedEnd else { return nil }
        return "data ends at \(MediaTime.format(lastPacketEnd)) but the container says \(MediaTime.format(statedEnd))"
    }

    func damage(_ code: AVErrorCode) -> VideoError {
        .damaged(input: input.description, seconds: lastPacketEnd, reason: code.description)
    }

    private func notePacketTime() {
        let pts = packet.pointee.pts != cffmpeg_nopts_value() ? packet.pointee.pts : packet.pointee.dts
        guard pts != cffmpeg_nopts_value() else { return }
        let end = Double(pts - (startTimestamp ?? 0) + max(0, packet.pointee.duration)) * av_q2d(timeBase)
        lastPacketEnd = max(lastPacketEnd, end)
    }

    private func finish(reason: String) throws(VideoError) -> SampledFrame? {
        finished = true
        logger.info("\(input): ended (\(reason)) after \(decodedCount) decoded frames")
        onEvent?(.ended(reason: reason))
        return nil
    }

    // MARK: - One decoded frame

    /// Times the frame in `decoded`, asks the sampler, and converts it only if sampled.
    private func takeDecodedFrame() throws(VideoError) -> SampledFrame? {
        let sequence = decodedCount
        decodedCount += 1
        failedReconnects = 0
        let seconds = presentationSeconds()
        lastSeconds = seconds
        let isKeyframe = decoded.pointee.key_frame != 0
        guard sampler.shouldSample(seconds: seconds, isKeyframe: isKeyframe) else { return nil }
        var wallClock: Date? = nil
        if input.stampsWallClock {
            wallClock = wallClockStart.map { $0.addingTimeInterval(seconds - timeOffset) } ?? Date()
        }
        // Everything below is of the displayed picture: the stored pixels turned by the stream's orientation.
        orientation = streamOrientation ?? VideoOrientation(frame: decoded) ?? .identity
        if orientation != currentInfo.orientation { noteFrameOrientation() }
        let (width, height) = orientation.displayedSize(
            width: Int(decoded.pointee.width), height: Int(decoded.pointee.height))
        let whole = PixelRegion(x: 0, y: 0, width: width, height: height)
        var views = [Frame.View(box: .full, image: try view(of: whole, frameWidth: width, frameHeight: height))]
        if let grid = options.tiles {
            for region in ViewLayout.tiles(grid, width: width, height: height) {
                let image = try view(of: region, frameWidth: width, frameHeight: height)
                views.append(Frame.View(box: region.box(frameWidth: width, frameHeight: height), image: image))
            }
        }
        var captionImage: RGBImage? = nil
        if let caption = options.captionPreprocessing {
            captionImage =
                caption == options.preprocessing
                ? views[0].image : try view(of: whole, frameWidth: width, frameHeight: height, as: caption)
        }
        var luma: [UInt8] = []
        if options.lumaSize > 0 {
            luma = try converter.view(
                decoded, scaledTo: options.lumaSize, options.lumaSize, orientation: orientation,
                format: AV_PIX_FMT_GRAY8, flags: SWS_AREA)
        }
        var preview: RGBImage? = nil
        if let previewWidth = options.previewWidth {
            let (w, h) = ViewLayout.previewSize(width: previewWidth, frameWidth: width, frameHeight: height)
            let stored = orientation.storedSize(width: w, height: h)
            let pixels = try converter.view(
                decoded, scaledTo: stored.width, stored.height, orientation: orientation, format: AV_PIX_FMT_RGB24,
                flags: SWS_BILINEAR)
            preview = RGBImage(width: w, height: h, pixels: pixels)
        }
        let frame = Frame(
            stream: streamName, sequence: sequence, time: MediaTime(seconds: seconds, wallClock: wallClock),
            views: views, luma: luma, captionImage: captionImage)
        return SampledFrame(
            frame: frame, preview: preview, isKeyframe: isKeyframe, sourceWidth: width, sourceHeight: height)
    }

    /// One encoder view of `region` (displayed coordinates) of the decoded frame: resized and cropped as
    /// ``VideoSourceOptions/preprocessing`` says for a picture of the region's size, in one swscale pass of the
    /// stored region, then turned upright. `as` replaces the views' preprocessing (the caption model's image).
    private func view(
        of region: PixelRegion, frameWidth: Int, frameHeight: Int, as other: ImagePreprocessing? = nil
    ) throws(VideoError) -> RGBImage {
        let preprocessing = other ?? options.preprocessing
        let g = preprocessing.geometry(width: region.width, height: region.height)
        let whole = region == PixelRegion(x: 0, y: 0, width: frameWidth, height: frameHeight)
        let stored = orientation.storedSize(width: g.resizedWidth, height: g.resizedHeight)
        let window = PixelRegion(x: g.cropX, y: g.cropY, width: g.cropWidth, height: g.cropHeight)
        let pixels = try converter.view(
            decoded, region: whole ? nil : orientation.storedRegion(region, width: frameWidth, height: frameHeight),
            scaledTo: stored.width, stored.height, orientation: orientation, window: window,
            format: AV_PIX_FMT_RGB24, flags: FrameConverter.flags(for: preprocessing.resample))
        return RGBImage(width: g.cropWidth, height: g.cropHeight, pixels: pixels)
    }

    /// A frame's own display matrix (no stream-level one) turned the picture: the info states it from now on.
    private func noteFrameOrientation() {
        let stored = currentInfo.orientation.storedSize(width: currentInfo.width, height: currentInfo.height)
        let shown = orientation.displayedSize(width: stored.width, height: stored.height)
        currentInfo.width = shown.width
        currentInfo.height = shown.height
        currentInfo.orientation = orientation
        logger.info("\(input): frames ask to be shown \(orientation)")
    }

    /// best_effort_timestamp × time_base, from the stream's start, continued across reconnects.
    private func presentationSeconds() -> Double {
        var timestamp = decoded.pointee.best_effort_timestamp
        if timestamp == cffmpeg_nopts_value() { timestamp = decoded.pointee.pts }
        guard timestamp != cffmpeg_nopts_value() else {
            // No timestamp at all (some raw streams): step by the nominal frame duration.
            let step = 1 / (currentInfo.nominalFPS ?? 25)
            return decodedCount == 1 ? timeOffset : lastSeconds + step
        }
        if startTimestamp == nil { startTimestamp = timestamp }
        let raw = Double(timestamp - startTimestamp!) * av_q2d(timeBase)
        if let target = rebaseTo {
            timeOffset = target - raw
            rebaseTo = nil
        }
        return raw + timeOffset
    }
}
