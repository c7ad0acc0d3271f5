import VLMCore

extension BeamSearchCaptioner {
    // MARK: - Shortlist

    /// The expansions worth scoring: every one whose sentence is already cached (exact scores cost nothing), plus the
    /// `shortlist` most promising uncached ones by an estimate, `cos(target, normalise(e(draft) + e(phrase)))`, from
    /// the draft's own embedding and the new phrase's (both cached by then). This bounds the text encoder's work on a
    /// cold cache to `shortlist` sentences per slot instead of beam width × phrases; as the cache fills, the search
    /// converges on the unshortlisted one.
    func shortlist(_ expansions: [SentenceDraft], target: Embedding) throws -> [SentenceDraft] {
        guard let shortlist else { return expansions }
        let prompts = expansions.map { vocabulary.promptText(for: $0.sentence) }
        let cached = store.cachedEmbeddings(for: prompts)
        // First-slot sentences are single phrases: nothing cheaper to estimate them with.
        let uncached = expansions.indices.filter { cached[$0] == nil && expansions[$0].length > 1 }
        guard uncached.count > shortlist else { return expansions }

        var parts: [String] = []
        for index in uncached {
            let draft = expansions[index]
            parts.append(vocabulary.promptText(for: draft.phrases.dropLast().joined(separator: " ")))
            parts.append(vocabulary.promptText(for: draft.phrases.last!))
        }
        let vectors = try store.embeddings(for: parts)
        var estimates: [(index: Int, estimate: Float)] = []
        estimates.reserveCapacity(uncached.count)
        for (n, index) in uncached.enumerated() {
            let parent = vectors[2 * n]
            let phrase = vectors[2 * n + 1]
            let norm = (2 + 2 * parent.dot(phrase)).squareRoot()
            let sum = parent.dot(target) + phrase.dot(target)
            estimates.append((index, norm > 0 ? sum / norm : sum))
        }
        estimates.sort { $0.estimate != $1.estimate ? $0.estimate > $1.estimate : $0.index < $1.index }
        var keep = Set(estimates.prefix(shortlist).map(\.index))
        for index in expansions.indices where cached[index] != nil || expansions[index].length <= 1 {
            keep.insert(index)
        }
        return expansions.indices.filter(keep.contains).map { expansions[$0] }
    }
}
