import VLMTensor

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension GITModel {
    /// transformers' `generate(pixel_values=…, input_ids=prompt)` for `images` inputs sharing one prompt: greedy
    /// when `settings.numBeams` is 1, else beam search. `prompt` defaults to `[bos]` (GIT starts from [CLS]); a VQA
    /// prompt is [CLS] + the question's ids without the final [SEP]. Returns, per input, the generated ids after
    /// the prompt, ending with `eos` when the model produced it.
    public func generate(
        pixelValues: UnsafeBufferPointer<Float>, images: Int, prompt: [Int32] = [], settings: GITGenerationConfig
    ) throws -> [[Int32]] {
        let prompt = prompt.isEmpty ? [Int32(settings.bosTokenID)] : prompt
        guard prompt.count <= config.maxPositionEmbeddings else {
            throw GITInputError(
                "the prompt has \(prompt.count) tokens, more than the model's \(config.maxPositionEmbeddings) positions"
            )
        }
        // The last generated token is never fed back, so the positions allow one more than they hold.
        let newTokens = min(
            settings.newTokens(promptLength: prompt.count), config.maxPositionEmbeddings + 1 - prompt.count)
        guard newTokens > 0 else { return Array(repeating: [], count: images) }
        let context = try encodeImages(pixelValues: pixelValues, images: images)
        if settings.numBeams <= 1 {
            return try greedy(context: context, prompt: prompt, newTokens: newTokens, settings: settings)
        }
        return try beamSearch(context: context, prompt: prompt, newTokens: newTokens, settings: settings)
    }

    /// `_sample` without sampling: the argmax token (the first on ties, as torch.argmax) until every sequence has
    /// produced `eos` or `newTokens` tokens.
    func greedy(
        context: GITImageContext, prompt: [Int32], newTokens: Int, settings: GITGenerationConfig
    ) throws -> [[Int32]] {
        let s = context.images
        let v = config.vocabSize
        let cache = GITTextCache(imageOf: Array(0..<s), capacity: prompt.count + newTokens, config: config)
        var logits = try decode(tokens: Array((0..<s).map { _ in prompt }.joined()), context: context, cache: cache)
        var output = Array(repeating: [Int32](), count: s)
        var done = Array(repeating: false, count: s)
        for step in 0..<newTokens {
            var next = [Int32](repeating: Int32(settings.padTokenID), count: s)
            for seq in 0..<s where !done[seq] {
                let row = UnsafeBufferPointer(start: logits.data + seq * v, count: v)
                var best = 0
                for j in 1..<v where row[j] > row[best] { best = j }
                next[seq] = Int32(best)
                output[seq].append(Int32(best))
                if best == settings.eosTokenID { done[seq] = true }
            }
            if step == newTokens - 1 || done.allSatisfy({ $0 }) { break }
            logits = try decode(tokens: next, context: context, cache: cache)
        }
        return output
    }
}

// MARK: - Beam search

/// One input's beam search state, as transformers' `_beam_search` keeps it (per batch row).
struct BeamState {
    var running: [[Int32]]
    var runningScores: [Float]
    /// Finished hypotheses, best first, at most `numBeams` (`is_sent_finished` slots that hold one).
    var finished: [(tokens: [Int32], score: Float)] = []
    /// `is_early_stop_heuristic_unsatisfied`: the running beams may still beat the finished ones.
    var improvable = true

    init(beams: Int) {
        running = Array(repeating: [], count: beams)
        runningScores = [0] + Array(repeating: -1e9, count: beams - 1)
    }
}

extension GITModel {
    func beamSearch(
        context: GITImageContext, prompt: [Int32], newTokens: Int, settings: GITGenerationConfig
    ) throws -> [[Int32]] {
        let (b, nb, v) = (context.images, settings.numBeams, config.vocabSize)
        let s = b * nb
        let keep = 2 * nb  // beams_to_keep = max(2, 1 + eos count) · num_beams
        let promptLength = prompt.count
        let maxLength = promptLength + newTokens
        let penalty = Double(settings.lengthPenalty)
        let cache = GITTextCache(imageOf: (0..<s).map { $0 / nb }, capacity: maxLength, config: config)
        var logits = try decode(tokens: Array((0..<s).map { _ in prompt }.joined()), context: context, cache: cache)
        var states = Array(repeating: BeamState(beams: nb), count: b)
        var curLength = promptLength
        var logProbs = [Float](repeating: 0, count: v)
        while true {
            var sources = Array(0..<s)
            var allHit = true
            for item in 0..<b {
                var state = states[item]
                // log_softmax(logits) + running score, top 2·nb over (beam, token)
                var top: [(score: Float, beam: Int, token: Int)] = []
                for beam in 0..<nb {
                    Self.logSoftmax(logits.data + (item * nb + beam) * v, count: v, into: &logProbs)
                    let base = state.runningScores[beam]
                    for token in 0..<v {
                        let score = logProbs[token] + base
                        if top.count == keep, score <= top[keep - 1].score { continue }
                        var at = top.count
                        while at > 0 && top[at - 1].score < score { at -= 1 }
                        top.insert((score, beam, token), at: at)
                        if top.count > keep { top.removeLast() }
                    }
                }
                let hits = top.map { $0.token == settings.eosTokenID || curLength + 1 >= maxLength }
                allHit = allHit && hits.allSatisfy { $0 }
                // Finished hypotheses: only among the top nb candidates, scored Σ log p / length^penalty, and only
                // while the item can still improve (and is not full under early_stopping=True).
                let full = state.finished.count == nb
                let blocked = !state.improvable || (settings.earlyStopping == .always && full)
                if !blocked {
                    let divisor = Float(pow(Double(curLength + 1 - promptLength), penalty))
                    for k in 0..<nb where hits[k] {
                        let c = top[k]
                        state.finished.append((state.running[c.beam] + [Int32(c.token)], c.score / divisor))
                    }
                    state.finished.sort { $0.score > $1.score }
                    if state.finished.count > nb { state.finished.removeLast(state.finished.count - nb) }
                }
                // Running beams: the best nb candidates that did not stop.
                let continuing = top.indices.filter { !hits[$0] }.prefix(nb)
                if continuing.count == nb {
                    let previous = state.running
                    for (slot, k) in continuing.enumerated() {
                        let c = top[k]
                        state.running[slot] = previous[c.beam] + [Int32(c.token)]
                        state.runningScores[slot] = c.score
                        sources[item * nb + slot] = item * nb + c.beam
                    }
                }
                states[item] = state
            }
            cache.reorder(sources)
            curLength += 1
            // _check_early_stop_heuristic, then _beam_search_has_unfinished_sequences over the whole batch
            for item in 0..<b where states[item].improvable {
                let best =
                    settings.earlyStopping == .never && penalty > 0
                    ? maxLength - promptLength : curLength - promptLength
                let bestScore = states[item].runningScores[0] / Float(pow(Double(best), penalty))
                let worst: Float =
                    states[item].finished.count == nb ? states[item].finished.map(\.score).min() ?? -1e9 : -1e9
                states[item].improvable = bestScore > worst
            }
            let improvable = states.contains { $0.improvable }
            let allFull = states.allSatisfy { $0.finished.count == nb } && settings.earlyStopping == .always
            if !improvable || allFull || allHit { break }
            let next = (0..<s).map { states[$0 / nb].running[$0 % nb].last ?? Int32(settings.padTokenID) }
            logits = try decode(tokens: next, context: context, cache: cache)
        }
        return states.map { $0.finished.first?.tokens ?? $0.running[0] }
    }

    /// `log_softmax` of one row in float32 (the sum in double).
    static func logSoftmax(_ x: UnsafePointer<Float>, count: Int, into out: inout [Float]) {
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, x[i]) }
        var sum: Double = 0
        for i in 0..<count { sum += Double(exp(x[i] - maximum)) }
        let shift = maximum + Float(log(sum))
        for i in 0..<count { out[i] = x[i] - shift }
    }
}
