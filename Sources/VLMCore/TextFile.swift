import Foundation

/// Reads a settings file (pipeline YAML, match settings, caption vocabulary) as UTF-8 text, saying precisely why it
/// cannot be: the file is missing, unreadable, a directory, too large, or not UTF-8 (with the first bad byte's
/// offset), instead of one "cannot be read" for all of them.
public enum TextFile {
    /// Why a settings file could not be read: the rest of a sentence after the file name.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Settings files are small; a bigger one is a mistake (a video passed as a pipeline file).
    public static let maxBytes = 16 << 20

    /// The UTF-8 text of `url`.
    public static func read(_ url: URL) throws(Failure) -> String {
        var info = stat()
        if stat(url.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw Failure(description: "is a directory; give the file inside it")
        }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw Failure(description: "cannot be read (\(posixReason(error) ?? "check the path and permissions"))")
        }
        guard data.count <= maxBytes else {
            throw Failure(description: "is larger than \(maxBytes >> 20) MiB; is it really a settings file?")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let offset = firstInvalidUTF8(data)
            throw Failure(description: "is not UTF-8 text (invalid byte at offset \(offset)); save it as UTF-8")
        }
        return text
    }

    /// The POSIX error inside a Foundation file error (`No such file or directory`), if there is one.
    public static func posixReason(_ error: any Error) -> String? {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileReadNoSuchFile, .fileNoSuchFile: return "No such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: return "Permission denied"
        default: return nil
        }
    }

    static func firstInvalidUTF8(_ data: Data) -> Int {
        var iterator = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput, .error: return offset
            }
        }
    }
}
