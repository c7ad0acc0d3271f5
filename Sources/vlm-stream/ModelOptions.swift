import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCore
import VLMPipeline

/// `--model`, shared by every command that runs CLIP (`@OptionGroup var model: ModelOptions`).
struct ModelOptions: ParsableArguments {
    /// `--model` as given (nil when absent), so an explicit default still overrides a pipeline file's model.
    @Option(
        name: .customLong("model"),
        help: ArgumentHelp(
            "A CLIP checkpoint directory, or a Hugging Face hub name (name or name@revision) looked up in the "
                + "local hub cache. Default \(HubCache.defaultModel).",
            valueName: "dir|name"))
    var given: String?

    /// `--precision` as given (nil when absent, so a pipeline file's `encoder.precision` stands).
    @Option(
        name: .customLong("precision"),
        help: """
            Precision of the encoder's linear layers: fp32 or int8 (quantized at load). Default: what the checkpoint \
            holds (int8 for one written by `models quantize`, fp32 otherwise).
            """)
    var givenPrecision: Precision?

    /// The model to use: `--model`, or the default.
    var model: String { given ?? HubCache.defaultModel }

    /// Sets the spec's model when `--model` was given.
    func apply(to spec: inout PipelineSpec) {
        if let given { spec.model = given }
        if let givenPrecision { spec.encoder.precision = givenPrecision }
    }

    /// The checkpoint directory `--model` names (see `ModelLocator`).
    func directory() throws -> URL {
        try ModelLocator.resolve(model)
    }

    /// Loads the whole model; the library's info logs are kept off the terminal unless something is wrong.
    func load() throws -> CLIPModel {
        var logger = Logger(label: "vlm.clip")
        logger.logLevel = .warning
        return try CLIPModel.load(directory: try directory(), precision: givenPrecision, logger: logger)
    }
}

/// Runs `body`; a `UserFacingError` is printed as `error: <description>` on standard error and the command exits
/// with status 1 (ArgumentParser's own errors pass through unchanged).
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        let value = try await body()
        // print() buffers: a full disk or /dev/full shows only when the buffer is flushed.
        if fflush(nil) != 0 {
            throw StandardOutputError(reason: String(cString: strerror(errno)))
        }
        return value
    } catch let error as UserFacingError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

/// Builds JSON Lines output by hand so keys keep the documented order.
enum JSONLine {
    /// `[1,2,3]`.
    static func array<T: BinaryInteger>(_ values: [T]) -> String {
        "[" + values.map { String($0) }.joined(separator: ",") + "]"
    }

    /// Floats in Swift's shortest round-trip form (valid JSON for finite values).
    static func array(_ values: [Float]) -> String {
        "[" + values.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
    }

    /// Writes one line to standard output; throws when it cannot be written (a full disk, `/dev/full`).
    static func emit(_ line: String) throws {
        fflush(nil)
        do {
            try FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            throw StandardOutputError(reason: (error as NSError).localizedDescription)
        }
    }
}

/// Standard output could not be written: results were lost, so the command fails.
struct StandardOutputError: UserFacingError {
    var reason: String
    var description: String {
        "cannot write results to standard output (\(reason)): free space or redirect the output elsewhere"
    }
}
