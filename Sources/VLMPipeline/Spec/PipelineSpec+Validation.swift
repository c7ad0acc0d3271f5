import VLMGraph
import Foundation
import VLMVideo

extension PipelineSpec {
    /// Checks values a decoder cannot: ranges, exclusive choices, duplicate names. Throws one actionable line
    /// (file `command line`; `parse` replaces it with the file's path).
    public func validate() throws {
        func fail(_ message: String) -> PipelineSpecError { PipelineSpecError(file: "command line", message) }
        guard !sources.isEmpty else { throw fail("no sources: give an input (or a `sources:` list)") }
        var names = Set<String>()
        for (i, source) in sources.enumerated() {
            let at = "sources[\(i)]"
            guard !source.url.isEmpty else { throw fail("\(at).url is empty; give a file, URL or /dev/videoN") }
            let name = source.streamName
            guard names.insert(name).inserted else {
                throw fail("\(at): stream name '\(name)' is used twice; give each source a distinct `name`")
            }
            let s = source.sampling
            guard [s.fps != nil, s.every != nil, s.keyframes].filter({ $0 }).count <= 1 else {
                throw fail("\(at).sampling: give only one of fps, every and keyframes")
            }
            if let fps = s.fps, !(fps > 0) { throw fail("\(at).sampling.fps must be a positive number") }
            if let every = s.every, every < 1 { throw fail("\(at).sampling.every must be 1 or more") }
            if let tiles = source.tiles, !Self.isTileGrid(tiles) {
                throw fail("\(at).tiles '\(tiles)' must look like 2x2 (columns x rows, at most 64 tiles)")
            }
            if let gate = source.gate, !(gate.threshold > 0) || !(gate.maxReuse > 0) {
                throw fail("\(at).gate: threshold and max_reuse must be positive")
            }
            guard source.live.queue >= 1 else { throw fail("\(at).live.queue must be at least 1") }
            guard source.live.ioTimeout > 0, source.live.reconnectMaxDelay > 0 else {
                throw fail("\(at).live: io_timeout and reconnect_max_delay must be positive seconds")
            }
        }
        for query in queries where query.trimmingCharacters(in: .whitespaces).isEmpty {
            throw fail("queries: an empty query; remove it or give text such as \"a person crossing\"")
        }
        if let labels, labels.labels.isEmpty { throw fail("labels.labels is empty; list at least one label") }
        if let top = labels?.top, top < 1 { throw fail("labels.top must be 1 or more") }
        guard (1...1024).contains(encoder.batch) else { throw fail("encoder.batch must be between 1 and 1024") }
        guard encoder.latencyMs >= 0 else { throw fail("encoder.latency_ms must be 0 or more") }
        guard (1...64).contains(encoder.workers) else { throw fail("encoder.workers must be between 1 and 64") }
        if let threads = encoder.threads, threads < 1 { throw fail("encoder.threads must be at least 1") }
        if let n = encoder.maxInFlight, n < 1 { throw fail("encoder.max_in_flight must be at least 1") }
        if let port = metricsPort, !(0...65535).contains(port) {
            throw fail("metrics_port \(port) is not a TCP port (0-65535)")
        }
        if let mqtt = outputs.mqtt {
            guard !mqtt.host.isEmpty, (1...65535).contains(mqtt.port) else {
                throw fail("outputs.mqtt: give a host and a port between 1 and 65535")
            }
            guard (0...2).contains(mqtt.qos) else { throw fail("outputs.mqtt.qos must be 0, 1 or 2") }
        }
        if (outputs.srt != nil || outputs.vtt != nil) && captions == nil {
            throw fail("outputs.srt/vtt write captions: add a `captions:` section (or remove the subtitle output)")
        }
        if queries.isEmpty && labels == nil && captions == nil && outputs.mqtt == nil {
            throw fail("nothing to compute: give at least one query (--query TEXT), labels, captions or MQTT control")
        }
    }

    static func isTileGrid(_ text: String) -> Bool {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let c = Int(parts[0]), let r = Int(parts[1]) else { return false }
        return c > 0 && r > 0 && c * r <= 64
    }
}

extension SourceSpec {
    /// The name results carry: `name`, or the input's default name (its file name without extension).
    public var streamName: String {
        if let name, !name.isEmpty { return name }
        return VideoInput(parsing: url).defaultStreamName
    }
}
