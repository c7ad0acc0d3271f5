import Foundation
import HummingbirdCore
@testable import VLMServe

/// The web server's request parsing, through the functions its routes call: fields `Range` NUL file size NUL
/// `Content-Type` NUL body NUL request target (path and query) NUL video id.
func fuzzHTTPRequest(_ bytes: [UInt8]) {
    let fields = bytes.parts(6)
    let size = Int(fields[1].text) ?? fields[1].count
    _ = ByteRange.parse(fields[0].text, size: size)
    _ = ByteRange.parse(fields[0].text, size: fields[3].count)
    if let boundary = Multipart.boundary(contentType: fields[2].text) {
        _ = Multipart.firstFile(fields[3], boundary: boundary)
    }
    let uri = URI(fields[4].text)
    let query = uri.queryParameters
    let options = ServeOptions()
    _ = try? QueryValidation.text(query["text"].map(String.init), limit: options.maxQueryCharacters)
    _ = try? QueryValidation.page(
        top: query["top"].map(String.init), offset: query["offset"].map(String.init), options: options)
    _ = Archive.videoID(parameter: query["video"].map(String.init))
    _ = Archive.videoID(parameter: fields[5].text)
    _ = VideoFile.mediaType(uri.path)
    _ = ConstantTime.equal(fields[5].text, fields[2].text)
}
