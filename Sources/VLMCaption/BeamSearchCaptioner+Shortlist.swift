import VLMCore

extension BeamSearchCaptioner {
    // MARK: - Shortlist

    /// The expansions worth scoring as whole sentences: all of them when they are at most `shortlist`, else the
    /// `shortlist` best by an estimate, `cos(target, normalise(e(draft) + e(phrase)))`, made from the draft's own
    /// embedding and the new phrase's (both known by then), plus every expansion that adds nothing (a skipped slot,
    /// whose sentence was already scored). This bounds the text encoder's work on a cold cache to `shortlist`
    /// sentences per slot instead of beam width × phrases, and it depends only on the target, never on what the
    /// cache holds, so a repeated search encodes nothing.
    func shortlist(_ expansions: [SentenceDraft], target: Embedding) throws -> [SentenceDraft] {
        guard let shortlist else { return expansions }
        // First-slot sentences are single phrases: nothing cheaper to estimate them with.
        let candidates = expansions.indices.filter { expansions[$0].length > 1 && isExtension(expansions[$0]) }
        guard candidates.count > shortlist else { return expansions }

        var parts: [String] = []
        for index in candidates {
            let draft = expansions[index]
            parts.append(vocabulary.promptText(for: draft.phrases.dropLast().joined(separator: " ")))
            parts.append(vocabulary.promptText(for: draft.phrases.last!))
        }
        let vectors = try store.embeddings(for: parts)
        var estimates: [(index: Int, estimate: Float)] = []
        estimates.reserveCapacity(candidates.count)
        for (n, index) in candidates.enumerated() {
            let parent = vectors[2 * n]
            let phrase = vectors[2 * n + 1]
            let norm = (2 + 2 * parent.dot(phrase)).squareRoot()
            let sum = parent.dot(target) + phrase.dot(target)
            estimates.append((index, norm > 0 ? sum / norm : sum))
        }
        estimates.sort { $0.estimate != $1.estimate ? $0.estimate > $1.estimate : $0.index < $1.index }
        var keep = Set(expansions.indices).subtracting(candidates)
        keep.formUnion(estimates.prefix(shortlist).map(\.index))
        return expansions.indices.filter(keep.contains).map { expansions[$0] }
    }

    /// Whether `draft` filled its last slot (rather than skipping it).
    private func isExtension(_ draft: SentenceDraft) -> Bool {
        guard draft.nextSlot > 0, let last = draft.phrases.last else { return false }
        return vocabulary.slots[draft.nextSlot - 1].phrases.contains { $0.text == last }
    }
}
