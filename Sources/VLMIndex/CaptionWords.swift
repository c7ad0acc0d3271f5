/// The exact-word half of matching a text query against stored captions: the query's content words (lower-cased
/// letters and digits, question and filler words left out) must all occur in the caption, each compared by a crude
/// stem (a trailing "ing", "ed", "es" after s/x/z/ch/sh, or "s" dropped, then a doubled final consonant undone), so "when did someone
/// carry a box?" matches "a man carrying a box" and "boxes", but not "a box on a shelf".
public enum CaptionWords {
    /// Words that say nothing about what is seen.
    static let stopWords: Set<String> = [
        "a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "by", "for", "from", "with", "into", "onto",
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "has", "have", "had",
        "when", "where", "what", "which", "who", "whom", "whose", "why", "how", "that", "this", "these", "those",
        "there", "here", "it", "its", "any", "some", "someone", "somebody", "something", "anyone", "anybody",
        "anything", "show", "find", "me", "moment", "moments", "scene", "video", "frame", "frames",
    ]

    /// The stems of `text`'s content words, in order, each once.
    public static func contentStems(_ text: String) -> [String] {
        var seen = Set<String>()
        return words(text).filter { !stopWords.contains($0) }.map(stem).filter { seen.insert($0).inserted }
    }

    /// True when every content word of `query` occurs in `caption` (false for a query without content words).
    public static func matches(query: [String], caption: String) -> Bool {
        guard !query.isEmpty else { return false }
        let stems = Set(words(caption).map(stem))
        return query.allSatisfy { stems.contains($0) }
    }

    /// Endings after which a plural adds "es".
    static let sibilants = ["s", "x", "z", "ch", "sh"]

    /// Lower-cased runs of letters and digits.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    /// The crude stem: "carrying" → "carry", "boxes" → "box", "walked" → "walk", "running" → "run".
    static func stem(_ word: String) -> String {
        var w = Substring(word)
        if w.count > 5, w.hasSuffix("ing") {
            w = w.dropLast(3)
        } else if w.count > 4, w.hasSuffix("ed") {
            w = w.dropLast(2)
        } else if w.count > 4, w.hasSuffix("es"), Self.sibilants.contains(where: { w.dropLast(2).hasSuffix($0) }) {
            w = w.dropLast(2)
        } else if w.count > 3, w.hasSuffix("s"), !w.hasSuffix("ss") {
            w = w.dropLast(1)
        } else {
            return String(w)
        }
        // "running" → "runn" → "run"; "carries" → "carri" stays (rare enough).
        if let last = w.last, w.count > 3, w.dropLast().last == last, !"aeiouls".contains(last) { w = w.dropLast() }
        return String(w)
    }
}
