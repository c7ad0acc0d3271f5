import Foundation
import Testing

@testable import VLMTensor

@Suite("Released mapped pages")
struct MappedPagesTests {
    @Test("a borrowed tensor reads the same values after its pages are released; an owned one is left alone")
    func release() throws {
        let values = (0..<(3 * 4096)).map { Float($0) * 0.5 - 7 }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-pages-\(getpid()).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        try values.withUnsafeBytes { try Data($0).write(to: url) }
        let file = try MappedFile(path: url.path)
        let borrowed = Tensor(
            borrowing: file.bytes.assumingMemoryBound(to: Float.self), shape: [values.count], owner: file)
        #expect(borrowed.values == values)
        borrowed.releaseMappedPages()
        #expect(borrowed.values == values)
        let owned = Tensor(values, shape: [values.count])
        owned.releaseMappedPages()
        #expect(owned.values == values)
    }
}
