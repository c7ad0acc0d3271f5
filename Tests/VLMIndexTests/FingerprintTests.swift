import Foundation
import TestSupport
import Testing
@testable import VLMIndex

@Suite("checksums")
struct FingerprintTests {
    @Test("SHA-256 test vectors (FIPS 180-4)")
    func vectors() {
        func hex(_ s: String) -> String {
            var h = SHA256()
            h.update(Array(s.utf8))
            return h.hexDigest()
        }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var h = SHA256()
        let a = [UInt8](repeating: 0x61, count: 1_000_000)
        for i in stride(from: 0, to: a.count, by: 999) { h.update(Array(a[i..<min(i + 999, a.count)])) }
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("fingerprint changes with the file's ends and size, not with a copy")
    func fingerprint() throws {
        let dir = try Fixtures.temporaryDirectory("fingerprint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.bin")
        var bytes = [UInt8](repeating: 7, count: 3 << 20)
        try Data(bytes).write(to: file)
        let first = try VideoFingerprint(of: file)
        #expect(first.size == 3 << 20 && first.checksum.hasPrefix("ends:"))
        let copy = dir.appendingPathComponent("b.bin")
        try FileManager.default.copyItem(at: file, to: copy)
        #expect(try VideoFingerprint(of: copy) == first)
        bytes[bytes.count - 10] = 8
        try Data(bytes).write(to: file)
        #expect(try VideoFingerprint(of: file) != first)
        // A change in the middle is only seen by the full checksum.
        bytes[bytes.count - 10] = 7
        bytes[3 << 19] = 9
        try Data(bytes).write(to: file)
        #expect(try VideoFingerprint(of: file) == first)
        #expect(try VideoFingerprint(of: file, mode: .full) != VideoFingerprint(of: copy, mode: .full))
        #expect(throws: IndexError.self) { try VideoFingerprint(of: dir.appendingPathComponent("missing.mp4")) }
    }
}
