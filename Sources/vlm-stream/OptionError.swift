import Foundation
import VLMCore

/// A command-line option that cannot apply (to the pipeline file given, or without another option); printed as
/// `error: <description>` with a non-zero exit.
struct OptionError: UserFacingError {
    var description: String

    init(_ description: String) {
        self.description = description
    }

    /// The error for per-source `options` given while the spec has `count` sources.
    static func perSource(_ options: [String], sources count: Int) -> OptionError {
        OptionError(
            "\(options.joined(separator: ", ")) set\(options.count == 1 ? "s" : "") one source's options, but the "
                + "pipeline has \(count) sources; set them per source in the file (sources[i].sampling, tiles, gate, "
                + "live, input_options)")
    }
}

/// The POSIX reason inside a Foundation file error (`Permission denied`, `No such file or directory`), instead of
/// `Error Domain=NSCocoaErrorDomain Code=256 "(null)"`.
enum FileError {
    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let path = ns.userInfo[NSFilePathErrorKey] as? String { return "cannot access \(path)" }
        return ns.localizedFailureReason ?? "\(ns.localizedDescription)"
    }
}
