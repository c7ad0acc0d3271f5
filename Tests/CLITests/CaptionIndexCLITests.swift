import CLIP
import Foundation
import TestSupport
import Testing
import VLMIndex

/// `index --caption-model` stores a GIT model's captions (tiny random-weight checkpoints: the words are random, the
/// plumbing is real), and `search --text` matches caption text by words and by CLIP text similarity; run as a user
/// would, against real SQLite files (and a real PostgreSQL cluster where one is installed).
@Suite("captions in the index, by a caption model", .serialized)
struct CaptionIndexCLITests {
    static let clip = ["--model", "Tests/Fixtures/tiny-clip"]
    static let git = ["--caption-model", "Tests/Fixtures/tiny-git", "--caption-max-tokens", "4"]
    let dir: URL

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-caption-index")
    }

    func db(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func vlm(_ arguments: [String], expectSuccess: Bool = true) throws -> CLIRunner.Result {
        let result = try CLIRunner.run(arguments)
        if expectSuccess {
            #expect(result.status == 0, "vlm-stream \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result
    }

    func hits(_ result: CLIRunner.Result) throws -> [[String: Any]] {
        try result.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// The one video's captions and its record.
    func stored(_ db: String) throws -> (video: IndexedVideo, captions: [IndexedCaption]) {
        let index = try VideoIndex(path: db, create: false)
        let video = try #require(try index.videos().first)
        return (video, try index.captions(videoID: video.id))
    }

    @Test("index --caption-model stores the model's captions with their text embeddings and the captioner")
    func modelCaptionsAreStored() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let vocabulary = db("vocabulary.sqlite")
        let model = db("model.sqlite")
        try vlm(["index", plaza, "--db", vocabulary, "--fps", "2", "--captions"] + Self.clip)
        let indexed = try vlm(["index", plaza, "--db", model, "--fps", "2"] + Self.git + Self.clip)
        #expect(indexed.stdout.contains("20 frames indexed"), "\(indexed.stdout)")

        let (video, captions) = try stored(model)
        #expect(video.captioned && video.captioner == "git Tests/Fixtures/tiny-git")
        #expect(!captions.isEmpty)
        #expect(captions.allSatisfy { !$0.text.isEmpty && $0.embedding?.count == 32 })
        // The captions tile the video from its first frame to its end, in order.
        #expect(captions.first?.start == 0)
        #expect(abs((captions.last?.end ?? 0) - (video.duration ?? -1)) < 1e-6)
        #expect(zip(captions, captions.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
        // Not the vocabulary's sentences: the model wrote them (one GIT generation per caption trigger).
        let (vocabularyVideo, sentences) = try stored(vocabulary)
        #expect(vocabularyVideo.captioner == "clip-vocabulary")
        #expect(Set(captions.map(\.text)).isDisjoint(with: sentences.map(\.text)))
        // Stored text embeddings are the CLIP text tower's, normalised (fp16 in the index).
        let encoder = try CLIPModel.load(directory: Fixtures.url("tiny-clip"))
        let expected = try encoder.encode(texts: [captions[0].text])[0].normalized().values
        let storedEmbedding = try #require(captions[0].embedding)
        #expect(zip(expected, storedEmbedding).allSatisfy { abs($0 - $1) < 2e-3 })
    }

    @Test("a video indexed before gets the model's captions without encoding again, equal to a fresh index's")
    func captioningAnIndexedVideo() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let fresh = db("fresh.sqlite")
        let later = db("later.sqlite")
        try vlm(["index", plaza, "--db", fresh, "--fps", "2"] + Self.git + Self.clip)
        try vlm(["index", plaza, "--db", later, "--fps", "2", "--captions"] + Self.clip)
        let framesBefore = try VideoIndex(path: later, create: false).frames(videoID: try stored(later).video.id)

        let captioned = try vlm(["index", plaza, "--db", later, "--fps", "2"] + Self.git + Self.clip)
        #expect(
            captioned.stdout.contains("captions added by the caption model from the decoded frames"),
            "\(captioned.stdout)")
        #expect(!captioned.stdout.contains("frames indexed"))
        let (video, captions) = try stored(later)
        #expect(video.captioner == "git Tests/Fixtures/tiny-git")
        // The pass over stored embeddings and decoded frames triggers and captions exactly as indexing did.
        #expect(captions == (try stored(fresh)).captions)
        #expect(try VideoIndex(path: later, create: false).frames(videoID: video.id) == framesBefore)

        let again = try vlm(["index", plaza, "--db", later, "--fps", "2"] + Self.git + Self.clip)
        #expect(again.stdout.contains("unchanged, skipped"), "\(again.stdout)")
        // Another checkpoint (a video one, 6 frames a caption) captions it again.
        let video6 = ["--caption-model", "Tests/Fixtures/tiny-git-video", "--caption-max-tokens", "4"]
        let other = try vlm(["index", plaza, "--db", later, "--fps", "2"] + video6 + Self.clip)
        #expect(other.stdout.contains("captions added by the caption model"), "\(other.stdout)")
        #expect(try stored(later).video.captioner == "git Tests/Fixtures/tiny-git-video")
        #expect(try stored(later).captions.map(\.text) != captions.map(\.text))
    }

    @Test("search --text matches caption words and caption text similarity, says why, and ranks them first")
    func searchMatchesCaptions() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let index = db("search.sqlite")
        try vlm(["index", plaza, "--db", index, "--fps", "2", "--caption-interval", "1"] + Self.git + Self.clip)
        let captions = try stored(index).captions
        #expect(captions.count > 3)
        // A word of a caption (WordPiece output of random weights: pick one of letters only, 4+ long).
        let words = captions.flatMap { $0.text.split(separator: " ").map(String.init) }
        let word = try #require(words.first { $0.count >= 4 && $0.allSatisfy(\.isLetter) }, "\(captions)")
        let withWord = captions.filter {
            CaptionWords.matches(query: CaptionWords.contentStems(word), caption: $0.text)
        }

        let byWords = try hits(vlm(["search", "--db", index, "--text", word, "--json", "--top", "50"] + Self.clip))
        let captionHits = byWords.filter { $0["match"] as? String == "caption_words" }
        #expect(captionHits.count == withWord.count)
        #expect(Set(captionHits.compactMap { $0["caption"] as? String }) == Set(withWord.map(\.text)))
        // Caption hits come first; frame moments follow and say so.
        #expect(byWords.prefix(captionHits.count).allSatisfy { $0["match"] as? String == "caption_words" })
        #expect(byWords.dropFirst(captionHits.count).allSatisfy { $0["match"] as? String == "frame" })
        // Each hit spans its own caption (one text may come back at several times).
        let spans = Set(withWord.map { "\($0.start)-\($0.end)" })
        #expect(Set(captionHits.map { "\($0["start"] as? Double ?? -1)-\($0["end"] as? Double ?? -1)" }) == spans)

        // Similarity: with the floor at -1 every caption matches, scored by its text cosine with the query.
        let query = "qqqq zzzz"
        let similar = try hits(
            vlm(
                ["search", "--db", index, "--text", query, "--json", "--top", "100", "--caption-min-similarity", "-1"]
                    + Self.clip))
        let bySimilarity = similar.filter { $0["match"] as? String == "caption_similarity" }
        #expect(bySimilarity.count == captions.count)
        let encoder = try CLIPModel.load(directory: Fixtures.url("tiny-clip"))
        let q = try encoder.encode(texts: [query])[0].normalized().values
        for hit in bySimilarity {
            let caption = try #require(captions.first { $0.start == hit["start"] as? Double })
            let cosine = zip(q, try #require(caption.embedding)).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs((hit["score"] as? Double ?? 9) - Double(cosine)) < 5e-3)
        }
        let scores = bySimilarity.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))
        // The default floor (0.9) keeps unrelated captions out; --frames-only leaves captions out entirely.
        let strict = try hits(vlm(["search", "--db", index, "--text", query, "--json"] + Self.clip))
        #expect(strict.allSatisfy { $0["match"] as? String != "caption_words" })
        let framesOnly = try hits(
            vlm(["search", "--db", index, "--text", word, "--json", "--frames-only", "--top", "50"] + Self.clip))
        #expect(!framesOnly.isEmpty && framesOnly.allSatisfy { $0["match"] as? String == "frame" })
        // The text output marks caption hits.
        let text = try vlm(["search", "--db", index, "--text", word] + Self.clip).stdout
        #expect(text.contains("[caption words]"), "\(text)")
    }

    @Test("index refuses --ask and caption options without captions, with one line each")
    func refusals() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let ask = try vlm(
            ["index", plaza, "--db", db("r.sqlite"), "--ask", "is it day?"] + Self.git + Self.clip,
            expectSuccess: false)
        #expect(ask.status != 0 && ask.stderr.contains("stores captions, not answers"), "\(ask.stderr)")
        let off = try vlm(
            ["index", plaza, "--db", db("r.sqlite"), "--caption-interval", "3"] + Self.clip, expectSuccess: false)
        #expect(off.status != 0 && off.stderr.contains("captions are off"), "\(off.stderr)")
        let notGIT = try vlm(
            ["index", plaza, "--db", db("r.sqlite"), "--caption-model", "Tests/Fixtures/tiny-clip"] + Self.clip,
            expectSuccess: false)
        #expect(notGIT.status != 0 && notGIT.stderr.split(separator: "\n").count == 1, "\(notGIT.stderr)")
    }

    @Test(
        "PostgreSQL stores and searches the model's captions as SQLite does",
        .enabled(if: PostgresServer.isAvailable, "PostgreSQL server binaries (initdb, postgres) are not installed"))
    func postgres() throws {
        let server = try PostgresServer()
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let sqlite = db("parity.sqlite")
        let postgres = try server.createDatabase("captions")
        for db in [sqlite, postgres] {
            try vlm(["index", plaza, "--db", db, "--fps", "2"] + Self.git + Self.clip)
        }
        let (liteVideo, lite) = try stored(sqlite)
        let (pgVideo, pg) = try stored(postgres)
        #expect(pgVideo.captioner == liteVideo.captioner && pgVideo.captioned)
        #expect(!pg.isEmpty && pg == lite)
        // Captioning an indexed video, and the search, agree too.
        let words = lite.flatMap { $0.text.split(separator: " ").map(String.init) }
        let word = try #require(words.first { $0.count >= 4 && $0.allSatisfy(\.isLetter) })
        let search = { (db: String) in
            try self.hits(self.vlm(["search", "--db", db, "--text", word, "--json", "--top", "20"] + Self.clip))
        }
        let liteHits = try search(sqlite)
        let pgHits = try search(postgres)
        #expect(liteHits.contains { $0["match"] as? String == "caption_words" })
        #expect(pgHits.map { $0["caption"] as? String } == liteHits.map { $0["caption"] as? String })
        #expect(pgHits.map { $0["match"] as? String } == liteHits.map { $0["match"] as? String })
        // A worker of the job queue takes the same caption flags and stores the same captions.
        let queued = try server.createDatabase("queued")
        try vlm(["index", "--enqueue", plaza, "--db", queued])
        try vlm(["worker", "--db", queued, "--exit-when-done", "--fps", "2", "--poll", "0.5"] + Self.git + Self.clip)
        let (queuedVideo, fromWorker) = try stored(queued)
        #expect(queuedVideo.captioner == liteVideo.captioner && fromWorker == lite)
        let recaption = try vlm(
            ["index", plaza, "--db", postgres, "--fps", "2", "--caption-model", "Tests/Fixtures/tiny-git-vqa"]
                + Self.clip)
        #expect(recaption.stdout.contains("captions added by the caption model"), "\(recaption.stdout)")
        #expect(try stored(postgres).video.captioner == "git Tests/Fixtures/tiny-git-vqa")
    }
}
