import Foundation
import VLMVideo

extension PipelineSpec {
    /// The files a run writes, named for the user: `outputs.json` (unless `-`, standard output), `outputs.srt`
    /// (`--srt`), `outputs.vtt` (`--vtt`).
    public var outputFiles: [(name: String, path: String)] {
        let named = [
            ("the JSON Lines output", outputs.json), ("the SubRip output", outputs.srt),
            ("the WebVTT output", outputs.vtt),
        ]
        return named.compactMap { name, path in path.flatMap { $0 == "-" ? nil : (name, $0) } }
    }

    /// The files a run reads that the spec names itself: file sources, query files and images, the caption
    /// vocabulary.
    var readFiles: [(what: String, path: String)] {
        var reads: [(what: String, path: String)] = []
        for source in sources {
            if case .file(let path) = VideoInput(parsing: source.url) { reads.append(("an input video", path)) }
        }
        reads += queryFiles.map { ("a query file", $0) } + queryImages.map { ("a query image", $0) }
        if let vocabulary = captions?.vocabulary { reads.append(("the caption vocabulary", vocabulary)) }
        return reads
    }

    /// Refuses an output that would replace a file the run reads (the spec's own inputs and `alsoRead`: the
    /// pipeline file, the models' directories, whose files are all read), or that two outputs share. Opening an
    /// output truncates it, so `--srt clip.mp4` would otherwise lose the video before the first frame.
    public func checkOutputs(alsoRead: [(what: String, path: String)] = [], modelDirectories: [URL] = []) throws {
        let outputs = outputFiles
        guard !outputs.isEmpty else { return }
        var reads = readFiles + alsoRead
        for directory in modelDirectories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            reads += files.map { ("a file of the model", directory.appendingPathComponent($0).path) }
        }
        var written: [(name: String, identity: FileIdentity)] = []
        for (name, path) in outputs {
            let identity = FileIdentity(path)
            if let read = reads.first(where: { FileIdentity($0.path) == identity }) {
                throw PipelineError.outputOverwrites(
                    output: name, path: path, what: "\(read.what), which this run reads")
            }
            if let other = written.first(where: { $0.identity == identity }) {
                throw PipelineError.outputOverwrites(output: name, path: path, what: "\(other.name) too")
            }
            written.append((name, identity))
        }
    }
}

/// Which file a path names: its device and inode when it exists (so links and other spellings of it match),
/// else its absolute path with the links in its directories resolved.
struct FileIdentity: Equatable {
    private let device: UInt64
    private let inode: UInt64
    private let path: String?

    init(_ path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            (device, inode, self.path) = (UInt64(info.st_dev), UInt64(info.st_ino), nil)
        } else {
            let url = URL(fileURLWithPath: path).standardizedFileURL
            let directory = url.deletingLastPathComponent().resolvingSymlinksInPath()
            (device, inode, self.path) = (0, 0, directory.appendingPathComponent(url.lastPathComponent).path)
        }
    }
}
