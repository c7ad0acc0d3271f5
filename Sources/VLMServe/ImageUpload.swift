import Foundation
import HTTPTypes
import Hummingbird
import VLMCore
import VLMVideo

/// `POST /api/search/image`: a picture in `multipart/form-data` (or a raw `image/*` body) of at most
/// `ImageFile.untrustedMaxPixels`, decoded by FFmpeg from a private temporary file, embedded, searched.
enum ImageUpload {
    static func handle(
        _ request: Request, context: BasicRequestContext, archive: Archive, options: ServeOptions,
        page: (top: Int, offset: Int)
    ) async throws -> Response {
        guard let bytes = try await request.collectBody(upTo: options.uploadLimit) else {
            return APIError.response(.contentTooLarge, "the upload is larger than \(options.uploadLimit >> 20) MiB")
        }
        let contentType = request.headers[.contentType]
        let image: [UInt8]?
        if let boundary = Multipart.boundary(contentType: contentType) {
            image = Multipart.firstFile(bytes, boundary: boundary)
        } else if contentType?.lowercased().hasPrefix("image/") == true {
            image = bytes
        } else {
            return APIError.response(.unsupportedMediaType, "send the picture as multipart/form-data or image/*")
        }
        guard let image, !image.isEmpty else {
            return APIError.response(.badRequest, "no file in the upload; send the picture as a form field")
        }
        let decoded = try await offload { () -> Result<RGBImage, VideoError> in
            Result { () throws(VideoError) in
                try ImageFile.decode(bytes: image, name: "upload", maxPixels: ImageFile.untrustedMaxPixels)
            }
        }
        let picture: RGBImage
        switch decoded {
        case .success(let decodedPicture): picture = decodedPicture
        case .failure(let error): return APIError.response(.unprocessableContent, error.description)
        }
        let moments = try await offload { try archive.search(image: picture, top: page.top, offset: page.offset) }
        return Response.json(
            try SearchResults(archive: archive, query: "(image)", offset: page.offset, moments: moments))
    }
}
