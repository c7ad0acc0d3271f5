import VLMCore

extension ControlRequest {
    /// Applies this request to `controller`: the one place a validated control request (text queries, or an image
    /// query on `add`) changes a live query set,
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
            let added = image.map { [$0.label] } ?? queryFile.map { [$0.label] } ?? queries
            let total = Set(controller.activeQueries + added).count
            guard total <= limits.maxQueries else {
                throw Rejection.tooManyQueries(count: total, limit: limits.maxQueries)
            }
            if let image {
                try controller.addImageQuery(label: image.label, images: image.images)
            } else if let queryFile {
                try controller.addTunedQuery(json: queryFile.json)
            } else {
                try controller.addQueries(queries)
            }
        case .remove:
            controller.removeQueries(queries)
        }
        return controller.activeQueries
    }
}
