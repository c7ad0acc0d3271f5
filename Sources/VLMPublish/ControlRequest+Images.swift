import Foundation

/// Image queries on `queries/add`: `{"label": "our mug", "images": ["<base64 JPEG or PNG>", ...]}`, and tuned
/// queries: `{"query_file": {…the file `vlm-stream tune` writes…}}`.
extension ControlRequest {
    /// Validates an image query's fields: only `label` and `images`; a label like a text query; 1 to `maxImages`
    /// strings of strict base64 whose bytes start like a JPEG (`FF D8 FF`) or PNG (`89 50 4E 47 0D 0A 1A 0A`).
    static func imageQuery(_ object: [String: Any], limits: Limits) throws -> ImageQuery {
        if object["queries"] != nil { throw Rejection.queriesAndImages }
        if let unknown = object.keys.sorted().first(where: { $0 != "label" && $0 != "images" }) {
            throw Rejection.unknownField(String(unknown.prefix(40)))
        }
        guard let rawLabel = object["label"] else { throw Rejection.missingLabel }
        guard let text = rawLabel as? String, !(rawLabel is NSNumber) else {
            throw Rejection.badLabel("must be a string")
        }
        let label = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !label.isEmpty else { throw Rejection.badLabel("is empty") }
        guard label.unicodeScalars.count <= limits.maxQueryCharacters else {
            throw Rejection.badLabel("is longer than \(limits.maxQueryCharacters) characters")
        }
        guard !hasControlCharacters(label) else { throw Rejection.badLabel("contains control characters") }
        guard let value = object["images"], let array = value as? [Any] else { throw Rejection.imagesNotAnArray }
        guard !array.isEmpty else { throw Rejection.noImages }
        guard array.count <= limits.maxImages else {
            throw Rejection.tooManyImages(count: array.count, limit: limits.maxImages)
        }
        var images: [[UInt8]] = []
        for (index, element) in array.enumerated() {
            guard let string = element as? String, !(element is NSNumber) else {
                throw Rejection.imageNotAString(index: index)
            }
            guard let data = Data(base64Encoded: string) else { throw Rejection.badBase64(index: index) }
            let bytes = [UInt8](data)
            guard isJPEGOrPNG(bytes), let size = pictureSize(bytes) else { throw Rejection.notAnImage(index: index) }
            let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
            guard !overflow, pixels <= limits.maxImagePixels else {
                throw Rejection.imageTooLarge(
                    index: index, width: size.width, height: size.height, limit: limits.maxImagePixels)
            }
            images.append(bytes)
        }
        return ImageQuery(label: label, images: images)
    }

    /// True when `bytes` start with a JPEG or PNG signature.
    static func isJPEGOrPNG(_ bytes: [UInt8]) -> Bool {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF]
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return bytes.starts(with: jpeg) || bytes.starts(with: png)
    }

    /// The picture's size from its header, read here so that FFmpeg (whose probing already allocates a whole frame)
    /// never sees a hostile size: PNG's IHDR, or a JPEG's first start-of-frame marker. Nil when neither is found.
    public static func pictureSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        func be16(_ i: Int) -> Int { Int(bytes[i]) << 8 | Int(bytes[i + 1]) }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        if bytes.first == 0x89 {
            // Signature (8), IHDR length (4) and type (4), then width and height, big-endian.
            guard bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
            return (be32(16), be32(20))
        }
        var i = 2  // after SOI
        while i + 8 < bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let marker = bytes[i + 1]
            if marker == 0xFF {  // fill byte
                i += 1
                continue
            }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {  // no length
                i += 2
                continue
            }
            // SOF0–SOF15 except DHT (C4), JPG (C8), DAC (CC): length, precision, height, width.
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (be16(i + 7), be16(i + 5))
            }
            if marker == 0xDA || marker == 0xD9 { return nil }  // scan data or end before any frame header
            let length = be16(i + 2)
            guard length >= 2 else { return nil }
            i += 2 + length
        }
        return nil
    }

    /// True when `text` holds a Unicode control character (refused in queries, labels and questions here and on the
    /// web API).
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// Validates a tuned query's envelope: only `query_file`, a JSON object with a `label` like a text query. The
    /// file's own checks (format, shapes, finite numbers, the model) are the controller's (`TunedQuery`).
    static func queryFile(_ object: [String: Any]) throws -> QueryFile {
        if let unknown = object.keys.sorted().first(where: { $0 != "query_file" }) {
            throw Rejection.unknownField(String(unknown.prefix(40)))
        }
        guard let file = object["query_file"] as? [String: Any] else {
            throw Rejection.badQueryFile("must be the JSON object `vlm-stream tune` writes")
        }
        guard let raw = file["label"], let text = raw as? String, !(raw is NSNumber) else {
            throw Rejection.badQueryFile("has no label")
        }
        let label = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !label.isEmpty, label.unicodeScalars.count <= Limits().maxQueryCharacters, !hasControlCharacters(label)
        else { throw Rejection.badQueryFile("has a label that is not a query name") }
        guard let json = try? JSONSerialization.data(withJSONObject: file) else {
            throw Rejection.badQueryFile("cannot be read back as JSON")
        }
        return QueryFile(label: label, json: Array(json))
    }
}
