import CFFmpeg
import Foundation
import Logging
import VLMCore

/// Cuts a time range out of a video file without re-encoding (stream copy), and grabs thumbnails.
public enum ClipExporter {
    /// What an export wrote.
    public struct Result: Sendable, Equatable {
        /// Where the copy really starts in the source (the keyframe at or before `from`), in seconds.
        public var sourceStart: Double
        /// Duration of the written video, in seconds.
        public var duration: Double
        /// Packets written, per kind.
        public var videoPackets: Int
        public var audioPackets: Int
    }

    /// Copies the video (and first audio) stream of `input` from the keyframe at or before `from` until `to`
    /// (seconds from the start of the file) into `output`, whose container follows its extension (`.mp4`, `.mkv`,
    /// `.mov`, `.ts`...). Timestamps are shifted to start at 0; nothing is re-encoded. Like `ffmpeg -c copy -to`,
    /// the cut at `to` follows decode order, so a few reordered frames past `to` may be kept.
    public static func export(
        input: URL, from: Double, to: Double, output: URL, logger: Logger = Logger(label: "vlm.video.export")
    ) throws(VideoError) -> Result {
        try FFmpegRuntime.install()
        guard to > from, from >= 0 else {
            throw .invalidRequest("clip range \(from)–\(to) s is empty; the end must come after the start")
        }
        let demuxer = try Demuxer(input: .file(input.path))
        guard let videoIndex = demuxer.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw .noVideoStream(input: input.path)
        }
        if let duration = demuxer.duration, from >= duration {
            throw .invalidRequest(
                "no video in \(input.lastPathComponent) between \(from) and \(to) s: it is \(MediaTime.format(duration)) long"
            )
        }
        let muxer = try Muxer(output: output)
        var mapping: [Int32: Int32] = [:]
        mapping[videoIndex] = try muxer.addStream(copying: demuxer.stream(videoIndex))
        if let audioIndex = demuxer.bestStream(AVMEDIA_TYPE_AUDIO, relatedTo: videoIndex),
            muxer.accepts(demuxer.stream(audioIndex))
        {
            mapping[audioIndex] = try muxer.addStream(copying: demuxer.stream(audioIndex))
        } else if demuxer.bestStream(AVMEDIA_TYPE_AUDIO) != nil {
            logger.info("\(output.lastPathComponent): audio codec not supported by this container; video only")
        }
        for i in 0..<Int32(demuxer.formatContext.pointee.nb_streams) where mapping[i] == nil {
            demuxer.stream(i).pointee.discard = AVDISCARD_ALL
        }

        // Seek to the keyframe at or before `from` (in the video stream's time base, from its start time).
        let video = demuxer.stream(videoIndex)
        let videoBase = video.pointee.time_base
        let origin = video.pointee.start_time != cffmpeg_nopts_value() ? video.pointee.start_time : 0
        let target = origin + Int64((from / av_q2d(videoBase)).rounded(.down))
        if from > 0 && av_seek_frame(demuxer.formatContext, videoIndex, target, AVSEEK_FLAG_BACKWARD) < 0 {
            throw .cannotOpen(input: input.path, reason: "cannot seek to \(from) s")
        }
        try muxer.writeHeader()
        let end = origin + Int64((to / av_q2d(videoBase)).rounded(.up))
        let copy = try copyPackets(
            demuxer: demuxer, muxer: muxer, mapping: mapping, videoIndex: videoIndex, end: end, input: input.path)
        try muxer.finish()
        guard copy.videoPackets > 0 else {
            throw .invalidRequest("no video in \(input.lastPathComponent) between \(from) and \(to) s")
        }
        let start = Double(copy.startPTS - origin) * av_q2d(videoBase)
        return Result(
            sourceStart: start, duration: copy.lastEnd, videoPackets: copy.videoPackets,
            audioPackets: copy.audioPackets)
    }

    private struct Copy {
        var startPTS: Int64 = 0
        /// End of the last video packet, in seconds from the first keyframe (the clip's duration).
        var lastEnd: Double = 0
        var videoPackets = 0
        var audioPackets = 0
    }

    /// Reads packets from the seek point: video from the first keyframe until its dts passes `end`, audio in the
    /// same time span, all shifted so the first keyframe is at time 0.
    private static func copyPackets(
        demuxer: Demuxer, muxer: Muxer, mapping: [Int32: Int32], videoIndex: Int32, end: Int64, input: String
    ) throws(VideoError) -> Copy {
        var copy = Copy()
        let videoBase = demuxer.stream(videoIndex).pointee.time_base
        var started = false
        var videoDone = false
        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard let packet else { throw .invalidRequest("out of memory") }
        while !videoDone || mapping.count > 1 {
            if let failure = demuxer.read(into: packet) {
                if failure == .endOfFile { break }
                throw .damaged(input: input, seconds: copy.lastEnd, reason: failure.description)
            }
            defer { av_packet_unref(packet) }
            let index = packet.pointee.stream_index
            guard let outIndex = mapping[index] else { continue }
            let base = demuxer.stream(index).pointee.time_base
            let pts = packet.pointee.pts != cffmpeg_nopts_value() ? packet.pointee.pts : packet.pointee.dts
            if index == videoIndex {
                if !started {
                    guard packet.pointee.flags & AV_PKT_FLAG_KEY != 0, pts != cffmpeg_nopts_value() else { continue }
                    started = true
                    copy.startPTS = pts
                }
                if videoDone { continue }
                let dts = packet.pointee.dts != cffmpeg_nopts_value() ? packet.pointee.dts : pts
                if dts >= end {
                    videoDone = true
                    continue
                }
                copy.videoPackets += 1
                let packetEnd = Double(pts + max(0, packet.pointee.duration) - copy.startPTS) * av_q2d(base)
                copy.lastEnd = max(copy.lastEnd, packetEnd)
            } else {
                // Audio: only inside [start, end) of the video, converted to this stream's time base.
                guard started, pts != cffmpeg_nopts_value() else { continue }
                let startHere = av_rescale_q(copy.startPTS, videoBase, base)
                let endHere = av_rescale_q(end, videoBase, base)
                if pts < startHere { continue }
                if pts >= endHere {
                    if videoDone { break }
                    continue
                }
                copy.audioPackets += 1
            }
            let shift = av_rescale_q(copy.startPTS, videoBase, base)
            if packet.pointee.pts != cffmpeg_nopts_value() { packet.pointee.pts -= shift }
            if packet.pointee.dts != cffmpeg_nopts_value() { packet.pointee.dts -= shift }
            try muxer.write(packet, from: base, to: outIndex)
        }
        return copy
    }
}
