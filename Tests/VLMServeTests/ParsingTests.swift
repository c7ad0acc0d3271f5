import Testing

@testable import VLMServe

/// The request parsers on their own: `Range` headers and multipart bodies, including hostile ones.
@Suite("request parsing")
struct ParsingTests {
    @Test("Range headers resolve against the file size as RFC 9110 says")
    func ranges() {
        #expect(ByteRange.parse(nil, size: 100) == .whole)
        #expect(ByteRange.parse("bytes=0-9", size: 100) == .partial(0...9))
        #expect(ByteRange.parse("bytes=90-", size: 100) == .partial(90...99))
        #expect(ByteRange.parse("bytes=-10", size: 100) == .partial(90...99))
        #expect(ByteRange.parse("bytes=-1000", size: 100) == .partial(0...99))
        #expect(ByteRange.parse("bytes=50-5000", size: 100) == .partial(50...99))
        #expect(ByteRange.parse("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        // Malformed or multi-range: ignored, the whole file is sent.
        for header in ["bytes=9-1", "bytes=a-b", "items=0-1", "bytes=0-1,5-6", "bytes=--1", "bytes=99999999999999999999-"] {
            #expect(ByteRange.parse(header, size: 100) == .whole, "\(header)")
        }
    }

    @Test("multipart: the file part is found; bodies without one give nil")
    func multipart() {
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=\"q u\"") == "q u")
        #expect(Multipart.boundary(contentType: "multipart/form-data") == nil)
        #expect(Multipart.boundary(contentType: "text/plain; boundary=abc") == nil)
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "x", count: 71)) == nil)
        let body = Array(
            ("--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                + "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n\r\nPIXELS\r\n--b--\r\n")
                .utf8)
        #expect(Multipart.firstFile(body, boundary: "b") == Array("PIXELS".utf8))
        #expect(Multipart.firstFile(Array("no parts here".utf8), boundary: "b") == nil)
        #expect(Multipart.firstFile(Array("--b\r\nbroken".utf8), boundary: "b") == nil)
        #expect(Multipart.firstFile([], boundary: "b") == nil)
    }
}
