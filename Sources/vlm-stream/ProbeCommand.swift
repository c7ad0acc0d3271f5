import ArgumentParser
import Dispatch
import Foundation
import VLMCore
import VLMVideo

/// `vlm-stream probe INPUT`: open a video, decode and sample it as `run` would, and report what happened.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Decode and sample a video without the model: stream info, timing, scene-gate reuse.",
        discussion: """
            INPUT is a file, a URL (rtsp://, http(s)://, HLS...), a V4L2 camera (/dev/video0) or - for stdin.
            Prints the stream info (size as displayed, and the rotation or mirroring the stream asks for), then
            (with --frames) one JSON line per sampled frame, then a JSON summary with the displayed size, rotation
            (degrees clockwise) and mirroring, decode+scale throughput and the fraction of sampled frames the scene
            gate would reuse. Ctrl-C stops a live input.
            """
    )

    @Argument(help: "File, stream URL, camera device, or - for stdin.")
    var input: String

    @OptionGroup var video: VideoOptions

    @Option(help: "Side of the encoder views in pixels.")
    var size: Int = 224

    @Flag(help: "Print one JSON line per sampled frame.")
    var frames = false

    @Option(help: "Write each sampled frame's encoder view as a PPM image into this directory.")
    var dump: String?

    @Option(help: "Stop after this many seconds of video.")
    var duration: Double?

    func validate() throws {
        guard size >= 8 else { throw ValidationError("--size must be at least 8 pixels.") }
    }

    func run() async throws {
        try await reportingErrors {
            let source = try VideoSource(VideoInput(parsing: input), options: video.sourceOptions(imageSize: size))
            let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            signal(SIGINT, SIG_IGN)
            interrupt.setEventHandler { source.cancel() }
            interrupt.resume()
            defer { interrupt.cancel() }
            FileHandle.standardError.write(Data("\(source.info.summary)\n".utf8))
            if let dump { try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true) }

            var gate = video.gateConfiguration.map { SceneChangeGate(configuration: $0) }
            var sampled = 0
            let clock = ContinuousClock()
            let start = clock.now
            let cpuStart = ProcessMemory.cpuSeconds()
            while let next = try source.next() {
                let time = next.frame.time
                if let duration, time.seconds > duration { break }
                sampled += 1
                let decision = gate?.decide(luma: next.frame.luma, at: time.seconds)
                if frames {
                    let gateText = decision.map { $0 == .reuse ? "reuse" : "encode" } ?? "encode"
                    try JSONLine.emit(
                        #"{"pts": \#(String(format: "%.6f", time.seconds)), "keyframe": \#(next.isKeyframe), "#
                            + #""views": \#(next.frame.views.count), "gate": "\#(gateText)"}"#)
                }
                if let dump {
                    let image = next.frame.views[0].image
                    let name = String(format: "%@/frame_%06d.ppm", dump, next.frame.sequence)
                    var data = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
                    data.append(contentsOf: image.pixels)
                    try data.write(to: URL(fileURLWithPath: name))
                }
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let cpu = ProcessMemory.cpuSeconds() - cpuStart
            let decoded = source.decodedFrameCount
            let info = source.info
            let reuse = gate.map { String(format: "%.3f", $0.reuseFraction) } ?? "null"
            try JSONLine.emit(
                #"{"input": \#(JSONText.string(source.info.input)), "sampling": "\#(video.sampling)", "#
                    + #""width": \#(info.width), "height": \#(info.height), "#
                    + #""rotation": \#(info.orientation.rotation), "mirrored": \#(info.orientation.mirrored), "#
                    + #""size": \#(size), "decoded": \#(decoded), "sampled": \#(sampled), "#
                    + #""wall_seconds": \#(String(format: "%.3f", seconds)), "#
                    + #""decoded_per_second": \#(String(format: "%.1f", Double(decoded) / max(seconds, 1e-9))), "#
                    + #""sampled_per_second": \#(String(format: "%.1f", Double(sampled) / max(seconds, 1e-9))), "#
                    + #""cpu_seconds": \#(String(format: "%.3f", cpu)), "#
                    + #""cpu_ms_per_decoded_frame": \#(String(format: "%.2f", cpu * 1000 / Double(max(decoded, 1)))), "#
                    + #""gate_reuse_fraction": \#(reuse)}"#)
        }
    }
}
