import Foundation
import HTTPTypes
import Hummingbird
import VLMIndex

/// Serves an indexed video's file with Range support. The path comes from the index only (the request names an
/// id), and the file must still be a regular file of the indexed size: a file swapped for a symlink to something
/// else, or replaced, is refused rather than served.
enum VideoFile {
    static func response(for video: IndexedVideo, request: Request, context: BasicRequestContext) async throws
        -> Response
    {
        guard let size = servableSize(video) else {
            return APIError.response(.notFound, "the indexed file is missing or changed since it was indexed")
        }
        var headers = HTTPFields()
        headers[.contentType] = mediaType(video.path)
        headers[.acceptRanges] = "bytes"
        let fileIO = FileIO()
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        case .whole:
            headers[.contentLength] = String(size)
            if size == 0 { return Response(status: .ok, headers: headers) }
            let body = try await fileIO.loadFile(path: video.path, range: 0...(size - 1), context: context)
            return Response(status: .ok, headers: headers, body: body)
        case .partial(let range):
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = String(range.count)
            let body = try await fileIO.loadFile(path: video.path, range: range, context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        }
    }

    /// The file's size when the index's path (symlinks followed) is a regular file of the indexed size.
    static func servableSize(_ video: IndexedVideo) -> Int? {
        let resolved = URL(fileURLWithPath: video.path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = (attributes[.size] as? NSNumber)?.int64Value, size == video.size
        else { return nil }
        return Int(size)
    }

    static func mediaType(_ path: String) -> String {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "mp4", "m4v": return "video/mp4"
        case "mov": return "video/quicktime"
        case "mkv": return "video/x-matroska"
        case "webm": return "video/webm"
        case "ts": return "video/mp2t"
        default: return "application/octet-stream"
        }
    }
}
