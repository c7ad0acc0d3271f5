import Foundation
import VLMCore
import VLMIndex

/// `GET /api/search` and `POST /api/search/image`: `{"query", "offset", "moments": [...]}`.
struct SearchResults: Encodable {
    var query: String
    var offset: Int
    var moments: [MomentJSON]

    init(archive: Archive, query: String, offset: Int, moments: [Moment]) throws {
        let ids = Dictionary(try archive.index.matrix().videos.map { ($0.path, $0.id) }) { first, _ in first }
        self.query = query
        self.offset = offset
        self.moments = moments.map { MomentJSON(moment: $0, videoID: ids[$0.video]) }
    }
}

/// A moment (its `ResultJSON` keys) plus what the page needs to show it: the video's id and file name, and the
/// URLs of its thumbnail and of the file to play.
struct MomentJSON: Encodable {
    var moment: Moment
    var videoID: Int64?

    var name: String { URL(fileURLWithPath: moment.video).lastPathComponent }
    var thumbnail: String? {
        videoID.map { "/api/thumbnail?video=\($0)&t=" + String(format: "%.1f", moment.peak) }
    }
    var file: String? { videoID.map { "/api/videos/\($0)/file" } }

    enum CodingKeys: String, CodingKey {
        case videoID = "video_id"
        case name, thumbnail, file
    }

    func encode(to encoder: Encoder) throws {
        try moment.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(videoID, forKey: .videoID)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(thumbnail, forKey: .thumbnail)
        try c.encodeIfPresent(file, forKey: .file)
    }
}

/// One indexed video as the API lists it.
struct VideoJSON: Encodable {
    var video: IndexedVideo
    var captions: [IndexedCaption]?

    init(_ video: IndexedVideo, captions: [IndexedCaption]?) {
        self.video = video
        self.captions = captions
    }

    enum CodingKeys: String, CodingKey {
        case id, name, path, size, duration, frames, model, fps, captioned, precision, captions, file
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(video.id, forKey: .id)
        try c.encode(URL(fileURLWithPath: video.path).lastPathComponent, forKey: .name)
        try c.encode(video.path, forKey: .path)
        try c.encode(video.size, forKey: .size)
        try c.encode(video.duration.flatMap(ResultJSON.number), forKey: .duration)
        try c.encode(video.frameCount, forKey: .frames)
        try c.encode(video.model, forKey: .model)
        try c.encode(ResultJSON.number(video.fps), forKey: .fps)
        try c.encode(video.captioned, forKey: .captioned)
        // Schema v1 stores every embedding as IEEE binary16.
        try c.encode("fp16", forKey: .precision)
        try c.encode("/api/videos/\(video.id)/file", forKey: .file)
        if let captions {
            try c.encode(
                captions.map { CaptionJSON(start: $0.start, end: $0.end, text: $0.text, score: $0.score) },
                forKey: .captions)
        }
    }
}

/// A stored caption: `{"start", "end", "text", "score"}`.
struct CaptionJSON: Encodable {
    var start: Double
    var end: Double
    var text: String
    var score: Double

    enum CodingKeys: String, CodingKey { case start, end, text, score }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ResultJSON.number(start), forKey: .start)
        try c.encode(ResultJSON.number(end), forKey: .end)
        try c.encode(text, forKey: .text)
        try c.encode(ResultJSON.number(score), forKey: .score)
    }
}
