import Foundation
import TestSupport

/// Runs a command-line tool (found on PATH) and returns its standard output; stderr is discarded.
func runTool(_ tool: String, _ arguments: [String]) throws -> String {
    String(decoding: try runToolBytes(tool, arguments), as: UTF8.self)
}

/// Runs a command-line tool (found on PATH) and returns the bytes of its standard output; stderr is discarded.
func runToolBytes(_ tool: String, _ arguments: [String]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](data)
}

/// ffprobe's view of a file's video frames: presentation time and keyframe flag, in presentation order.
func probeFrames(_ url: URL) throws -> [(time: Double, key: Bool)] {
    let csv = try runTool(
        "ffprobe",
        [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time,key_frame", "-of", "csv=p=0",
            url.path,
        ])
    return csv.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: ",")
        guard fields.count >= 2, let time = Double(fields[1]) else { return nil }
        return (time, fields[0] == "1")
    }
}

/// One value of ffprobe's `-show_entries` for a file (e.g. `format=duration`, `stream=codec_name`).
func probeValue(_ url: URL, _ entry: String, stream: String? = nil) throws -> String {
    var arguments = ["-v", "error"]
    if let stream { arguments += ["-select_streams", stream] }
    arguments += ["-show_entries", entry, "-of", "default=nw=1:nk=1", url.path]
    return try runTool("ffprobe", arguments).trimmingCharacters(in: .whitespacesAndNewlines)
}

let plaza = Fixtures.sampleVideo("plaza.mp4")
let staticTree = Fixtures.sampleVideo("static_tree.mp4")
let megamind = Fixtures.sampleVideo("megamind.mp4")
