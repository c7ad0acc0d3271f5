import Foundation
import TestSupport
import Testing

@testable import VLMIndex

@Suite("checksums")
struct FingerprintTests {
    @Test("a full checksum is the file's SHA-256 as sha256sum prints it")
    func fullChecksumMatchesSHA256Sum() throws {
        let dir = try Fixtures.temporaryDirectory("fingerprint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.bin")
        try Data((0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let expected = try #require(output.split(separator: " ").first)
        #expect(try VideoFingerprint(of: file, mode: .full).checksum == "full:\(expected)")
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
