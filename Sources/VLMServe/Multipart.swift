import Foundation

/// The first file part of a `multipart/form-data` body (RFC 7578), enough for one image upload.
enum Multipart {
    /// The boundary named by a `Content-Type: multipart/form-data; boundary=...` header.
    static func boundary(contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return value.isEmpty || value.count > 70 ? nil : value
            }
        }
        return nil
    }

    /// The bytes of the first part that has a `filename`, or of the first part when none has.
    static func firstFile(_ body: [UInt8], boundary: String) -> [UInt8]? {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [ArraySlice<UInt8>] = []
        var cursor = 0
        var starts: [Int] = []
        while let found = find(delimiter, in: body, from: cursor) {
            starts.append(found)
            cursor = found + delimiter.count
        }
        guard starts.count >= 2 else { return nil }
        for (a, b) in zip(starts, starts.dropFirst()) {
            var begin = a + delimiter.count
            if body[begin..<min(body.count, begin + 2)].elementsEqual([13, 10]) { begin += 2 }
            var end = b
            if end >= 2, body[end - 2..<end].elementsEqual([13, 10]) { end -= 2 }
            if begin <= end { parts.append(body[begin..<end]) }
        }
        var fallback: [UInt8]?
        for part in parts {
            guard let split = find([13, 10, 13, 10], in: Array(part), from: 0) else { continue }
            let headerBytes = Array(part)[0..<split]
            let content = Array(Array(part)[(split + 4)...])
            let headers = String(decoding: headerBytes, as: UTF8.self).lowercased()
            if headers.contains("filename=") { return content }
            if fallback == nil { fallback = content }
        }
        return fallback
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else {
            return nil
        }
        let first = needle[0]
        var i = start
        let last = haystack.count - needle.count
        return haystack.withUnsafeBufferPointer { h in
            while i <= last {
                if h[i] == first && needle.indices.allSatisfy({ h[i + $0] == needle[$0] }) { return i }
                i += 1
            }
            return nil
        }
    }
}
