import ArgumentParser
import Foundation
import VLMCore
import VLMIndex
import VLMVideo

/// `vlm-stream search`: finds moments in indexed videos by text or example image, without decoding them again.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an index made by `vlm-stream index` with a text or an example image.",
        discussion: """
            Scores every stored frame exactly (one BLAS matrix-vector product over the stored embeddings), takes the \
            best with a heap, and merges adjacent frames of one video scoring within --merge-margin of the best \
            into a moment. A --text query also matches the stored captions (`index --captions`): a caption containing \
            all its content words, or whose text embedding has at least --caption-min-similarity cosine with the \
            query's, is a hit spanning the caption; caption hits are listed before frame moments (docs/index.md). \
            --json prints one object per moment: video, start, end, score, peak, frames, caption, and match \
            (frame, caption_words or caption_similarity).
            """
    )

    @Option(help: "The index: an SQLite file or postgres://user:password@host:port/db?sslmode=….")
    var db: String

    @Option(help: "Find frames matching this text (repeatable: all queries are scored in one pass).")
    var text: [String] = []

    @Option(help: "Find frames similar to this image, JPEG, PNG, ... (repeatable).")
    var image: [String] = []

    @Option(help: "Moments to return.")
    var top: Int = 10

    @Option(help: "Cosine similarity below the best frame's within which adjacent frames join its moment.")
    var mergeMargin: Float = 0.02

    @Option(help: "Leave out frames whose cosine similarity is below this.")
    var minScore: Float?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "A --text query matches a caption whose text embedding has at least this cosine with its own "
                + "(captions with all its content words match anyway). Default "
                + "\(SearchOptions.defaultCaptionMinSimilarity).", valueName: "cosine"))
    var captionMinSimilarity: Float = SearchOptions.defaultCaptionMinSimilarity

    @Flag(help: "Match frames only: leave the stored captions out of --text queries.")
    var framesOnly = false

    @Flag(help: "One JSON object per line.")
    var json = false

    @Option(help: "Write each moment as a clip (stream copy, no re-encode) and a JPEG thumbnail into this directory.")
    var export: String?

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard !text.isEmpty || !image.isEmpty else { throw ValidationError("Give a query: --text or --image.") }
        if text.contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw ValidationError("--text is empty; give some words, e.g. --text \"a red car\".")
        }
        guard top >= 1 else { throw ValidationError("--top must be at least 1.") }
        guard mergeMargin >= 0 else { throw ValidationError("--merge-margin must be 0 or more.") }
        guard (-1...1).contains(captionMinSimilarity) else {
            throw ValidationError("--caption-min-similarity is a cosine in -1...1 (try 0.9).")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let index = try VideoIndex(path: db, create: false)
            guard let stored = try index.model() else { throw IndexError.empty(path: index.path) }
            let encoder = try model.load()
            try index.requireModel(encoder.modelIdentity)
            var queries = try encoder.encode(texts: text)
            let pictures = try image.map { path throws(VideoError) in try ImageFile.decode(URL(fileURLWithPath: path)) }
            queries += pictures.isEmpty ? [] : try encoder.encode(stills: pictures)
            let labels = text + image
            for query in queries where query.count != stored.dimension {
                throw IndexError.dimensionMismatch(path: index.path, indexed: stored.dimension, given: query.count)
            }
            let matrix = try index.matrix()
            let options = SearchOptions(
                top: top, mergeMargin: mergeMargin, minScore: minScore,
                captionMinSimilarity: framesOnly ? nil : captionMinSimilarity)
            // Text queries one at a time (each also reads the captions); images in one batch (one sgemm).
            let texts = zip(text, queries).map { matrix.search(text: $0, query: $1.values, options: options) }
            let images = Array(queries.dropFirst(text.count))
            let results =
                texts
                + (images.count == 1
                    ? [matrix.search(images[0].values, options: options)]
                    : matrix.search(batch: images.map(\.values), options: options))
            for (q, moments) in results.enumerated() {
                if !json && labels.count > 1 { print("\(q == 0 ? "" : "\n")\(labels[q]):") }
                for (rank, moment) in moments.enumerated() {
                    let files = try export.map { directory in
                        try Self.createExportDirectory(directory)
                        let prefix = labels.count > 1 ? String(format: "q%02d-", q + 1) : ""
                        return try Self.export(moment, name: prefix + String(format: "%02d", rank + 1), to: directory)
                    }
                    if json {
                        try JSONLine.emit(Self.json(moment, query: labels[q], files: files))
                    } else {
                        print(Self.text(moment, rank: rank + 1, files: files))
                    }
                }
                if moments.isEmpty && !json { print("no matching frames") }
            }
        }
    }

    // MARK: - Output

    /// One `--json` line: the moment's keys (`ResultJSON`) plus `query`, and `clip`/`thumbnail` with --export.
    static func json(_ m: Moment, query: String, files: (clip: String, thumbnail: String)?) -> String {
        ResultJSON.line(Hit(moment: m, query: query, clip: files?.clip, thumbnail: files?.thumbnail))
    }

    /// A moment as `--json` prints it.
    struct Hit: Encodable {
        var moment: Moment
        var query: String
        var clip: String?
        var thumbnail: String?

        enum CodingKeys: String, CodingKey { case query, clip, thumbnail }

        func encode(to encoder: Encoder) throws {
            try moment.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(query, forKey: .query)
            try c.encodeIfPresent(clip, forKey: .clip)
            try c.encodeIfPresent(thumbnail, forKey: .thumbnail)
        }
    }

    static func text(_ m: Moment, rank: Int, files: (clip: String, thumbnail: String)?) -> String {
        var line =
            String(format: "%2d. %.3f  ", rank, m.score) + URL(fileURLWithPath: m.video).lastPathComponent
            + "  \(MediaTime.format(m.start))–\(MediaTime.format(m.end))  (best at \(MediaTime.format(m.peak)))"
        if let caption = m.caption { line += "  \"\(caption)\"" }
        switch m.match {
        case .captionWords: line += "  [caption words]"
        case .captionSimilarity: line += "  [caption similarity]"
        case .frame, nil: break
        }
        if let files { line += "\n    \(files.clip)\n    \(files.thumbnail)" }
        return line
    }

    // MARK: - Export

    /// Cuts `moment` out of its video by stream copy and grabs a thumbnail of its best frame.
    static func export(_ moment: Moment, name: String, to directory: String) throws -> (clip: String, thumbnail: String)
    {
        let directory = URL(fileURLWithPath: directory)
        let source = URL(fileURLWithPath: moment.video)
        let ext =
            ["mp4", "mkv", "mov", "ts", "webm"].contains(source.pathExtension.lowercased())
            ? source.pathExtension.lowercased() : "mkv"
        let stem =
            name + "-" + source.deletingPathExtension().lastPathComponent
            + String(format: "-%.3f-%.3f", moment.start, moment.end)
        let clip = directory.appendingPathComponent(stem + "." + ext)
        let thumbnail = directory.appendingPathComponent(stem + ".jpg")
        _ = try ClipExporter.export(
            input: source, from: moment.start, to: max(moment.end, moment.start + 0.04), output: clip)
        let jpeg = try ClipExporter.thumbnail(input: source, at: moment.peak)
        do {
            try jpeg.write(to: thumbnail)
        } catch {
            throw OptionError(
                "cannot write \(thumbnail.path) (\(FileError.reason(error))): choose a writable --export directory")
        }
        return (clip.path, thumbnail.path)
    }

    /// Creates `--export`'s directory, or says in one line why it cannot be (Foundation's own error reads
    /// `Code=256 "(null)"` for `/proc/x`).
    static func createExportDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            // Foundation's error may carry no reason (`/proc/x`); mkdir(2) says which.
            let reason = mkdir(directory, 0o755) == 0 ? FileError.reason(error) : String(cString: strerror(errno))
            throw OptionError(
                "--export \(directory): cannot create the directory (\(reason)); "
                    + "choose a writable directory")
        }
    }
}
