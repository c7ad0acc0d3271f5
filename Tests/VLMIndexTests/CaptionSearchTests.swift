import Foundation
import GRDB
import TestSupport
import Testing
import VLMIndex

/// The caption half of `search --text` on a real SQLite index: content words with their crude stems, the
/// ranking rule (caption words, then caption similarity, then frames not inside a listed caption), and a damaged
/// stored caption embedding.
@Suite("Caption hits in text search")
struct CaptionSearchTests {
    @Test("content words: question and filler words are left out, stems compare")
    func words() {
        let query = CaptionWords.contentStems("When did someone carry a box?")
        #expect(query == ["carry", "box"])
        #expect(CaptionWords.matches(query: query, caption: "a man carrying a box"))
        #expect(CaptionWords.matches(query: query, caption: "Two people carry boxes."))
        #expect(!CaptionWords.matches(query: query, caption: "a box on a shelf"))
        #expect(!CaptionWords.matches(query: CaptionWords.contentStems("is there anything?"), caption: "anything"))
        #expect(CaptionWords.matches(query: CaptionWords.contentStems("running dogs"), caption: "a dog runs"))
        #expect(CaptionWords.matches(query: CaptionWords.contentStems("glasses"), caption: "a glass"))
    }

    /// An index of one video: frames 0…7 s on axes 0…7 (8-d), captions [0,4) "a man carrying a box" (embedding on
    /// axis 7) and [4,8) "a dog" (embedding between axes 0 and 1).
    func index() throws -> VideoIndex {
        let path = try Fixtures.temporaryDirectory("vlm-caption-search").appendingPathComponent("i.sqlite").path
        let index = try VideoIndex(path: path, create: true)
        guard
            case .fresh(let id, _) = try index.prepare(
                videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 1,
                captioner: "git m")
        else { throw IndexError.empty(path: path) }
        try index.append(
            videoID: id, frames: (0..<8).map { IndexedFrame(pts: Double($0), embedding: unitVector(8, axis: $0)) })
        let half = Float(0.5).squareRoot()
        try index.complete(
            videoID: id, duration: 8,
            captions: [
                IndexedCaption(
                    start: 0, end: 4, text: "a man carrying a box", score: 1, embedding: unitVector(8, axis: 7)),
                IndexedCaption(start: 4, end: 8, text: "a dog", score: 1, embedding: [half, half, 0, 0, 0, 0, 0, 0]),
            ], captioner: "git m")
        return index
    }

    @Test("caption word hits, then similarity hits, then frames outside them; each says why")
    func ranking() throws {
        let matrix = try index().matrix()
        #expect(try index().videos().first?.captioner == "git m")
        // The query is frame 5's axis: frame 5 is the best frame; its caption ("a dog") is 0.707 away.
        let query = unitVector(8, axis: 5)
        let options = SearchOptions(top: 10, mergeMargin: 0, captionMinSimilarity: 0.0)
        let hits = matrix.search(text: "someone carrying boxes", query: query, options: options)
        #expect(hits.first?.match == .captionWords && hits.first?.caption == "a man carrying a box")
        #expect(hits.first.map { ($0.start, $0.end, $0.frames) } ?? (0, 0, 0) == (0, 4, 4))
        // "a dog": no word in common, cosine 0 with axis 5 >= 0.0 → a similarity hit, its best frame is 5.
        #expect(hits.dropFirst().first?.match == .captionSimilarity && hits.dropFirst().first?.peak == 5)
        // Frame moments follow, none of them inside the two captions (which cover the whole video).
        #expect(hits.count == 2)

        // With the default floor (0.9), "a dog" is not similar enough; frames 4…7 come back as frame moments.
        let strict = matrix.search(text: "someone carrying boxes", query: query, options: SearchOptions(top: 3))
        #expect(strict.map(\.match) == [.captionWords, .frame, .frame])
        #expect(strict[1].peak == 5 && strict[1].score > 0.99)
        // No caption matching: exactly the frame search.
        let framesOnly = SearchOptions(top: 3, captionMinSimilarity: nil)
        #expect(
            matrix.search(text: "box", query: query, options: framesOnly) == matrix.search(query, options: framesOnly))
    }

    @Test("an index made before schema v2 is migrated: old captions count as the vocabulary's and match by words")
    func fromVersion1() throws {
        let index = try index()
        // Back to v1 as an older vlm-stream left it: no captioner, no caption embeddings, v2 not applied.
        let queue = try DatabaseQueue(path: index.path)
        try queue.write { db in
            try db.execute(
                sql: """
                    ALTER TABLE caption DROP COLUMN embedding;
                    ALTER TABLE video DROP COLUMN captioner;
                    DELETE FROM grdb_migrations WHERE identifier = 'v2';
                    """)
        }
        try queue.close()
        let reopened = try VideoIndex(path: index.path, create: false)
        let video = try #require(try reopened.videos().first)
        #expect(video.captioned && video.captioner == nil)
        #expect(try reopened.captions(videoID: video.id).allSatisfy { $0.embedding == nil })
        let hits = try reopened.matrix().search(
            text: "a box", query: unitVector(8, axis: 5), options: SearchOptions(top: 2, captionMinSimilarity: -1))
        #expect(hits.map(\.match) == [.captionWords, .frame])
        func plan(_ captioner: String?) throws -> IndexPlan {
            try reopened.prepare(
                videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 1,
                captioner: captioner)
        }
        #expect(try plan("clip-vocabulary") == .skip)
        #expect(try plan(nil) == .skip)
        #expect(try plan("git m") == .caption(videoID: video.id))
    }

    @Test("a stored caption embedding of odd length is damage, one line")
    func damagedEmbedding() throws {
        let index = try index()
        let queue = try DatabaseQueue(path: index.path)
        try queue.write { try $0.execute(sql: "UPDATE caption SET embedding = x'010203'") }
        try queue.close()
        let error = try #require(throws: IndexError.self) { try VideoIndex(path: index.path, create: false).matrix() }
        #expect("\(error)".contains("caption embedding is damaged"))
    }
}
