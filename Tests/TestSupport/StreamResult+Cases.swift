import VLMCore

/// Each case's value, or nil: lets a test write `try #require(result.labels)`, so a result of the wrong kind fails
/// the test instead of ending it early.
extension StreamResult {
    /// The score, when this is `.score`.
    public var score: QueryScore? { if case .score(let s) = self { s } else { nil } }
    /// The event, when this is `.event`.
    public var event: QueryEvent? { if case .event(let e) = self { e } else { nil } }
    /// The caption, when this is `.caption`.
    public var caption: Caption? { if case .caption(let c) = self { c } else { nil } }
    /// The labels, when this is `.labels`.
    public var labels: FrameLabels? { if case .labels(let l) = self { l } else { nil } }
}
