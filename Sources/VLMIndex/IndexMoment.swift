import Foundation
import VLMCore

/// A moment of an indexed video, written `INDEX:VIDEO@SECONDS` (`--query-moment`, `query_moments:`): the frame
/// embedding stored nearest that time becomes a query, so "more like this moment" needs no image file and no
/// encoding.
///
/// INDEX is the database path (up to the first `:`), VIDEO the video as it was indexed (its path, or its file name
/// when that is unique in the index), SECONDS the time from the video's start (after the last `@`).
public struct IndexMoment: Sendable, Equatable, CustomStringConvertible {
    /// The index database.
    public var index: String
    /// The video, as `vlm-stream index` was given it or by its file name.
    public var video: String
    /// Seconds from the start of the video.
    public var seconds: Double

    /// The moment as written.
    public var description: String { "\(index):\(video)@\(Self.number(seconds))" }

    /// The query's name in events: the video's file name and the time, `plaza.mp4@3.5`.
    public var label: String { "\(URL(fileURLWithPath: video).lastPathComponent)@\(Self.number(seconds))" }

    /// A moment from its parts.
    public init(index: String, video: String, seconds: Double) {
        self.index = index
        self.video = video
        self.seconds = seconds
    }

    /// Parses `INDEX:VIDEO@SECONDS`; throws `IndexError.badMoment` naming what is wrong.
    public init(parsing text: String) throws(IndexError) {
        let usage = "write INDEX:VIDEO@SECONDS, e.g. videos.sqlite:plaza.mp4@3.5"
        guard let at = text.lastIndex(of: "@"), let colon = text[..<at].firstIndex(of: ":") else {
            throw .badMoment(moment: text, reason: usage)
        }
        let index = String(text[..<colon])
        let video = String(text[text.index(after: colon)..<at])
        guard !index.isEmpty, !video.isEmpty, let seconds = Double(text[text.index(after: at)...]) else {
            throw .badMoment(moment: text, reason: usage)
        }
        guard seconds.isFinite, seconds >= 0 else {
            throw .badMoment(moment: text, reason: "the time must be 0 or more seconds")
        }
        self.init(index: index, video: video, seconds: seconds)
    }

    /// `3`, `3.5`, `0.25`: the shortest decimal that reads back as the same time.
    static func number(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : "\(seconds)"
    }
}

/// The frame an `IndexMoment` resolved to.
public struct ResolvedMoment: Sendable, Equatable {
    /// The indexed video it belongs to.
    public var video: IndexedVideo
    /// The stored frame's time, the one nearest the moment's.
    public var pts: Double
    /// Its stored embedding (fp16 in the file, widened to fp32; normalised when it was stored).
    public var embedding: [Float]
}

extension IndexedVideo {
    /// The video `name` means among `videos`: the one indexed by that path (as given, made absolute, or with its
    /// symlinks resolved, as `vlm-stream index` stores it), else the only one with that file name; nil when none or
    /// several match.
    public static func named(_ name: String, in videos: [IndexedVideo]) -> IndexedVideo? {
        let url = URL(fileURLWithPath: name)
        let paths = [name, url.standardizedFileURL.path, url.resolvingSymlinksInPath().path]
        if let v = videos.first(where: { paths.contains($0.path) }) { return v }
        let named = videos.filter { URL(fileURLWithPath: $0.path).lastPathComponent == name }
        return named.count == 1 ? named[0] : nil
    }
}

extension VideoIndex {
    /// The stored frame nearest `moment`'s time in its video. Throws `IndexError.modelMismatch` when the index was
    /// built with another model than `model`, and `IndexError.badMoment` for a video the index does not hold, a time
    /// after the video's end, or a video with no stored frame.
    public func frame(at moment: IndexMoment, model: String) throws -> ResolvedMoment {
        guard try self.model() != nil else { throw IndexError.empty(path: path) }
        try requireModel(model)
        guard let video = IndexedVideo.named(moment.video, in: try videos()) else {
            throw IndexError.badMoment(
                moment: moment.description,
                reason: "no video \(moment.video) in \(path); give the path as `vlm-stream index` was given it")
        }
        if let duration = video.duration, moment.seconds > duration + 0.05 {
            throw IndexError.badMoment(
                moment: moment.description,
                reason: "the video is \(MediaTime.format(duration)) long; give a time inside it")
        }
        let frames = try self.frames(videoID: video.id)
        guard
            let nearest = frames.min(by: { abs($0.pts - moment.seconds) < abs($1.pts - moment.seconds) }),
            !nearest.embedding.isEmpty
        else {
            throw IndexError.badMoment(
                moment: moment.description, reason: "no frame of \(moment.video) is stored yet; index it first")
        }
        return ResolvedMoment(video: video, pts: nearest.pts, embedding: nearest.embedding)
    }
}
