/// A sentence being built from a `CaptionVocabulary`: the phrases chosen so far and the next slot to fill.
public struct SentenceDraft: Sendable, Hashable {
    /// The chosen phrases, in order (skipped slots add nothing).
    public var phrases: [String]
    /// The sentence's kind, set by the first phrase that has one.
    public var kind: String?
    /// Index of the next slot to consider.
    public var nextSlot: Int

    /// The empty draft, before the first slot.
    public static let empty = SentenceDraft(phrases: [], kind: nil, nextSlot: 0)

    /// The sentence so far, e.g. "a person walking".
    public var sentence: String { phrases.joined(separator: " ") }
    /// The number of filled slots.
    public var length: Int { phrases.count }
}

extension CaptionVocabulary {
    // MARK: - Grammar

    /// The drafts one slot further than `draft`: the draft with the slot skipped (if optional), then one draft per
    /// phrase that fits the draft's kind. Empty once every slot was considered.
    public func expansions(of draft: SentenceDraft) -> [SentenceDraft] {
        guard draft.nextSlot < slots.count else { return [] }
        let slot = slots[draft.nextSlot]
        var result: [SentenceDraft] = []
        if !slot.required {
            result.append(SentenceDraft(phrases: draft.phrases, kind: draft.kind, nextSlot: draft.nextSlot + 1))
        }
        for phrase in slot.phrases where phrase.fits(kind: draft.kind) {
            result.append(
                SentenceDraft(
                    phrases: draft.phrases + [phrase.text], kind: draft.kind ?? phrase.kind,
                    nextSlot: draft.nextSlot + 1))
        }
        return result
    }

    /// Every sentence the vocabulary can make, each once, in grammar order (for exhaustive search and tests;
    /// the count is the product of the slot sizes, so use it only on small vocabularies).
    public func allSentences() -> [SentenceDraft] {
        var level = [SentenceDraft.empty]
        for _ in slots.indices {
            level = level.flatMap { expansions(of: $0) }
        }
        return level
    }

    /// The drafts after the first `depth` slots (all of them: used to pre-encode the short sentences every search
    /// starts with).
    public func drafts(depth: Int) -> [SentenceDraft] {
        var level = [SentenceDraft.empty]
        var all: [SentenceDraft] = []
        for _ in 0..<min(depth, slots.count) {
            level = level.flatMap { expansions(of: $0) }
            all += level
        }
        var seen = Set<String>()
        return all.filter { seen.insert($0.sentence).inserted }
    }
}
