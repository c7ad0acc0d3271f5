import VLMCore

extension ControlRequest {
    /// Applies this request to `controller`: the one place a validated control request changes a live query set,
    /// whether it came from MQTT (`<prefix>/<stream>/queries/set|add|remove`) or the live web page
    /// (`POST /api/queries/{action}`). Returns the active queries afterwards.
    ///
    /// Throws `Rejection.tooManyQueries` when an `add` would leave more than `limits.maxQueries` active (nothing
    /// changes), or the controller's own error (an empty query, the text encoder failing; nothing changes).
    @discardableResult
    public func apply(to controller: QueryControlling, limits: Limits = Limits()) throws -> [String] {
        switch action {
        case .set:
            try controller.setQueries(queries)
        case .add:
            let total = Set(controller.activeQueries + queries).count
            guard total <= limits.maxQueries else {
                throw Rejection.tooManyQueries(count: total, limit: limits.maxQueries)
            }
            try controller.addQueries(queries)
        case .remove:
            controller.removeQueries(queries)
        }
        return controller.activeQueries
    }
}
