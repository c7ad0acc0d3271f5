import Foundation
import TestSupport
import Testing

/// Runs `ffmpeg -v error -y ARGS` and fails with its stderr when it exits non-zero.
func ffmpeg(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-y"] + arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "ffmpeg \(arguments.joined(separator: " ")): \(message)")
}

/// Writes the 2×2 part of the video track's display matrix (`tkhd`, 16.16 fixed point: a, b, c, d of
/// `[a b u; c d v; x y w]`) into an MP4 in place; FFmpeg's mov demuxer exports it as the stream's
/// `AV_PKT_DATA_DISPLAYMATRIX`. This is how phones mark rotated and mirrored video, and FFmpeg 5.1's CLI has no
/// option to write a mirrored one.
func setDisplayMatrix(_ url: URL, a: Int32, b: Int32, c: Int32, d: Int32) throws {
    var bytes = [UInt8](try Data(contentsOf: url))
    let tag = Array("tkhd".utf8)
    var patched = 0
    var i = 4
    while i + 4 <= bytes.count {
        defer { i += 1 }
        guard Array(bytes[i..<i + 4]) == tag else { continue }
        let version = bytes[i + 4]
        // type(4) version/flags(4) times+track id+duration (20 or 32) reserved+layer+group+volume (16).
        let matrix = i + 8 + (version == 1 ? 32 : 20) + 16
        guard matrix + 44 <= bytes.count else { continue }
        let width = bytes[matrix + 36..<matrix + 40].reduce(0) { $0 << 8 | UInt32($1) }
        guard width != 0 else { continue }  // not a video track
        for (slot, value) in [(0, a), (1, b), (3, c), (4, d)] {
            let fixed = UInt32(bitPattern: value &* 65536)
            for k in 0..<4 { bytes[matrix + slot * 4 + k] = UInt8((fixed >> (24 - 8 * UInt32(k))) & 0xFF) }
        }
        patched += 1
    }
    try #require(patched == 1, "expected one video tkhd in \(url.lastPathComponent), found \(patched)")
    try Data(bytes).write(to: url)
}

/// Mean and 99th percentile of |a − b| over two equally long byte arrays (0–255 levels).
func levelDifference(_ a: [UInt8], _ b: [UInt8]) -> (mean: Double, p99: Int) {
    let d = zip(a, b).map { abs(Int($0) - Int($1)) }.sorted()
    guard !d.isEmpty else { return (0, 0) }
    return (Double(d.reduce(0, +)) / Double(d.count), d[d.count * 99 / 100])
}
