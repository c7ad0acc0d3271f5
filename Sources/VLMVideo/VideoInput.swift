import Foundation

/// Where frames come from: a file, a network stream, a V4L2 camera, or a pipe (stdin).
public enum VideoInput: Sendable, Hashable, CustomStringConvertible {
    /// A file in any container and codec FFmpeg decodes.
    case file(String)
    /// A network URL: `rtsp://`, `rtmp://`, `http(s)://` (progressive or HLS `.m3u8`), `udp://`, `srt://`...
    case network(String)
    /// A V4L2 capture device such as `/dev/video0` (read through libavdevice's `video4linux2` input).
    case camera(String)
    /// An already open file descriptor carrying a stream (`-` is descriptor 0, stdin), read as `pipe:N`.
    case pipe(Int32)

    /// Parses a command-line input: `-` is stdin, `/dev/videoN` a camera, `scheme://...` a network stream
    /// (`file://` URLs are files), anything else a file path.
    public init(parsing text: String) {
        if text == "-" {
            self = .pipe(0)
        } else if text.hasPrefix("/dev/video") {
            self = .camera(text)
        } else if text.hasPrefix("file://") {
            self = .file(URL(string: text)?.path ?? String(text.dropFirst("file://".count)))
        } else if let range = text.range(of: "://"), text[..<range.lowerBound].allSatisfy(\.isLetter) {
            self = .network(text)
        } else {
            self = .file(text)
        }
    }

    /// A file input from a URL.
    public init(file url: URL) {
        self = .file(url.path)
    }

    /// The text FFmpeg opens (`pipe:0` for stdin).
    var ffmpegURL: String {
        switch self {
        case .file(let path): return path
        case .network(let url): return url
        case .camera(let device): return device
        case .pipe(let fd): return "pipe:\(fd)"
        }
    }

    /// True for sources that produce frames in real time and may drop and come back (network, camera).
    public var isLive: Bool {
        switch self {
        case .network, .camera: return true
        case .file, .pipe: return false
        }
    }

    /// True when frames should also carry the wall-clock time they arrived (everything but files).
    var stampsWallClock: Bool {
        if case .file = self { return false }
        return true
    }

    /// A short name for logs and results: the file's base name, the URL without credentials, the device, `stdin`.
    public var defaultStreamName: String {
        switch self {
        case .file(let path):
            return URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        case .network(let url):
            guard var components = URLComponents(string: url) else { return url }
            components.user = nil
            components.password = nil
            components.query = nil
            let host = components.host ?? "stream"
            let path = components.path.split(separator: "/").last.map { "/\($0)" } ?? ""
            return host + path
        case .camera(let device):
            return URL(fileURLWithPath: device).lastPathComponent
        case .pipe(let fd):
            return fd == 0 ? "stdin" : "pipe\(fd)"
        }
    }

    /// The input as the user wrote it, with any password in a URL replaced by `***`.
    public var description: String {
        switch self {
        case .network(let url):
            guard var components = URLComponents(string: url), components.password != nil else { return url }
            components.password = "***"
            return components.string ?? url
        case .pipe(0): return "-"
        default: return ffmpegURL
        }
    }
}
