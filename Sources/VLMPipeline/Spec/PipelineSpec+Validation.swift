import Foundation
import VLMCore
import VLMGraph
import VLMIndex
import VLMMatch
import VLMPublish
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
            if let problem = source.problem { throw fail("\(at).\(problem.key) \(problem.requirement)") }
        }
        for query in queries where query.trimmingCharacters(in: .whitespaces).isEmpty {
            throw fail("queries: an empty query; remove it or give text such as \"a person crossing\"")
        }
        if let labels, labels.labels.isEmpty { throw fail("labels.labels is empty; list at least one label") }
        if let top = labels?.top, !(1...10_000).contains(top) { throw fail("labels.top must be between 1 and 10000") }
        if let problem = encoder.problem { throw fail("encoder.\(problem.key) \(problem.requirement)") }
        guard drainTimeout > 0, drainTimeout <= SourceSpec.maxSeconds else {
            throw fail("drain_timeout must be positive seconds, at most \(Int(SourceSpec.maxSeconds))")
        }
        if let port = metricsPort, !(0...65535).contains(port) {
            throw fail("metrics_port \(port) is not a TCP port (0-65535)")
        }
        do {
            try match.validate()
        } catch let error as MatchError {
            throw fail(Self.withYAMLKeys(error.description))
        }
        if let captions {
            do {
                try captions.validate()
            } catch let error as UserFacingError {
                throw fail("captions: \(error.description)")
            }
        }
        if let mqtt = outputs.mqtt { try validate(mqtt, fail: fail) }
        for (key, path) in [("srt", outputs.srt), ("vtt", outputs.vtt)] where path == "-" {
            throw fail(
                "outputs.\(key) '-': subtitles are rewritten whole as captions come, so they go to a file, not standard "
                    + "output; give a path (captions also stream as JSON Lines with --json)")
        }
        if (outputs.srt != nil || outputs.vtt != nil) && captions == nil {
            throw fail("outputs.srt/vtt write captions: add a `captions:` section (or remove the subtitle output)")
        }
        for (i, moment) in queryMoments.enumerated() {
            do {
                _ = try IndexMoment(parsing: moment)
            } catch {
                throw fail("query_moments[\(i)]: \(error)")
            }
        }
        if queryImageCrops && queryImages.isEmpty {
            throw fail("query_image_crops crops example images: give query_images (--query-image FILE) too")
        }
        if !hasQueries && labels == nil && captions == nil && outputs.mqtt == nil {
            throw fail("nothing to compute: give at least one query (--query TEXT), labels, captions or MQTT control")
        }
    }

    /// True when any kind of query is given: text, query files, example images or index moments.
    public var hasQueries: Bool {
        !queries.isEmpty || !queryFiles.isEmpty || !queryImages.isEmpty || !queryMoments.isEmpty
    }

    /// `outputs.mqtt`, checked by `MQTTSettings.validate()` and named by its file keys.
    private func validate(_ mqtt: MQTTSettings, fail: (String) -> PipelineSpecError) throws {
        do {
            try mqtt.validate()
        } catch MQTTError.invalidSetting(let key, let reason) {
            throw fail("outputs.mqtt.\(key): \(reason)")
        }
    }

    /// MatchSettings names its settings by their flags (`--enter`); a spec names them by their keys (`match.enter`).
    static func withYAMLKeys(_ message: String) -> String {
        MatchSettings.withFileKeys(message, prefix: "match.")
    }
}

extension SourceSpec {
    /// The name results carry: `name`, or the input's default name (its file name without extension).
    public var streamName: String {
        if let name, !name.isEmpty { return name }
        return VideoInput(parsing: url).defaultStreamName
    }
}

extension EncoderSpec {
    /// The first setting that cannot work (`key` under `encoder:`), or nil; the one range check of the encoder's
    /// settings, reported by a file under its key and by the command line under its flag.
    public var problem: SettingProblem? {
        func problem(_ key: String, _ requirement: String) -> SettingProblem {
            .init(key: key, requirement: requirement)
        }
        guard (1...1024).contains(batch) else { return problem("batch", "must be between 1 and 1024") }
        guard latencyMs >= 0, latencyMs.isFinite else { return problem("latency_ms", "must be 0 or more") }
        guard (1...64).contains(workers) else { return problem("workers", "must be between 1 and 64") }
        guard latencyMs <= 60_000 else { return problem("latency_ms", "must be at most 60000") }
        if let threads, !(1...1024).contains(threads) { return problem("threads", "must be between 1 and 1024") }
        if let maxInFlight, !(1...65_536).contains(maxInFlight) {
            return problem("max_in_flight", "must be between 1 and 65536")
        }
        return nil
    }
}
