import VLMCore

// MARK: - Human-readable lines for the terminal sink

extension QueryEvent {
    /// One line for the terminal, e.g.
    /// `00:03.000 start  cam0 "a red car" peak 0.91 @ 00:03.500 [0.50 0.00 0.50×0.50]` and
    /// `00:08.500 end    cam0 "a red car" 00:03.000–00:08.500 (5.5 s) peak 0.91 @ 00:05.000`.
    public var humanLine: String {
        let at: Double
        var span = ""
        switch type {
        case .start:
            at = startPTS
        case .update:
            at = endPTS ?? startPTS
            span = " since \(MediaTime.format(startPTS))"
        case .end:
            at = endPTS ?? startPTS
            span = " \(MediaTime.format(startPTS))–\(MediaTime.format(at)) (\(formatSeconds(at - startPTS)))"
        }
        let kind = type.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
        var line = "\(MediaTime.format(at)) \(kind) \(stream) \"\(query)\"\(span)"
        line += " peak \(formatScore(peakScore)) @ \(MediaTime.format(peakPTS))"
        if let box { line += " \(box.humanText)" }
        return line
    }
}

extension FrameLabels {
    /// One line for the terminal: `00:01.500 labels cam0 person 0.81, car 0.12, dog 0.07`.
    public var humanLine: String {
        let list = labels.map { "\($0.label) \(formatScore($0.probability))" }.joined(separator: ", ")
        return "\(MediaTime.format(pts)) labels \(stream) \(list)"
    }
}

extension QueryScore {
    /// One line for the terminal: `00:01.500 score  cam0 "a red car" 0.42 (cos 0.231)`.
    public var humanLine: String {
        let cos = (cosine * 1000).rounded() / 1000
        var line = "\(MediaTime.format(pts)) score  \(stream) \"\(query)\" \(formatScore(score)) (cos \(cos))"
        if let box { line += " \(box.humanText)" }
        return line
    }
}

extension Box {
    /// `[x y w×h]` with two decimals, normalised coordinates.
    var humanText: String {
        "[\(formatScore(x)) \(formatScore(y)) \(formatScore(width))×\(formatScore(height))]"
    }
}
