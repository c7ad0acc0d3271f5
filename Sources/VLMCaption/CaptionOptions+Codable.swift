import VLMCore

// MARK: - YAML keys

extension RollingCaptionSettings: Codable {
    /// `window`, `drift`, `max_interval`, `min_interval`.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case window, drift
        case maxInterval = "max_interval"
        case minInterval = "min_interval"
    }

    /// Decodes the trigger keys; a missing key keeps its default. Other keys are left to the caller (the settings
    /// sit in the same mapping as `CaptionOptions`' own keys).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        window = try c.decodeIfPresent(Double.self, forKey: .window) ?? window
        drift = try c.decodeIfPresent(Double.self, forKey: .drift) ?? drift
        maxInterval = try c.decodeIfPresent(Double.self, forKey: .maxInterval) ?? maxInterval
        minInterval = try c.decodeIfPresent(Double.self, forKey: .minInterval) ?? minInterval
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(window, forKey: .window)
        try c.encode(drift, forKey: .drift)
        try c.encode(maxInterval, forKey: .maxInterval)
        try c.encode(minInterval, forKey: .minInterval)
    }
}

extension CaptionOptions: Codable {
    /// `vocabulary`, `beam`, `cache`, beside the rolling settings' keys in one flat mapping.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabulary, beam, cache, model, beams, ask
        case maxTokens = "max_tokens"
        case endpoint
        case endpointModel = "endpoint_model"
        case endpointKeyEnv = "endpoint_key_env"
        case endpointTimeout = "endpoint_timeout"
        case endpointAttempts = "endpoint_attempts"
        case endpointMaxInFlight = "endpoint_max_in_flight"
    }

    /// The `endpoint_*` keys other than `endpoint` itself.
    static let endpointSettingKeys: [CodingKeys] = [
        .endpointModel, .endpointKeyEnv, .endpointTimeout, .endpointAttempts, .endpointMaxInFlight,
    ]

    /// Decodes a pipeline file's `captions:` mapping: `{window: 2, drift: 0.05, max_interval: 10, min_interval: 1,
    /// vocabulary: FILE, beam: 8, cache: DIR, model: M, beams: 1, max_tokens: 20, ask: [Q], endpoint: URL,
    /// endpoint_model: NAME, endpoint_key_env: VAR, endpoint_timeout: 30, endpoint_attempts: 3,
    /// endpoint_max_in_flight: 2}`; every key optional (`endpoint_model` required with `endpoint`, the other
    /// `endpoint_*` keys only with it), unknown keys are errors. Does not validate.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(
            known: RollingCaptionSettings.CodingKeys.allCases.map(\.stringValue)
                + CodingKeys.allCases.map(\.stringValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(rolling: try RollingCaptionSettings(from: decoder))
        vocabulary = try c.decodeIfPresent(String.self, forKey: .vocabulary)
        cacheDirectory = try c.decodeIfPresent(String.self, forKey: .cache)
        beamWidth = try c.decodeIfPresent(Int.self, forKey: .beam) ?? beamWidth
        model = try c.decodeIfPresent(String.self, forKey: .model)
        modelBeams = try c.decodeIfPresent(Int.self, forKey: .beams)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        ask = try c.decodeIfPresent([String].self, forKey: .ask) ?? []
        if let url = try c.decodeIfPresent(String.self, forKey: .endpoint) {
            var endpoint = EndpointOptions(
                url: url, model: try c.decodeIfPresent(String.self, forKey: .endpointModel) ?? "")
            endpoint.keyVariable = try c.decodeIfPresent(String.self, forKey: .endpointKeyEnv)
            endpoint.timeout = try c.decodeIfPresent(Double.self, forKey: .endpointTimeout) ?? endpoint.timeout
            endpoint.attempts = try c.decodeIfPresent(Int.self, forKey: .endpointAttempts) ?? endpoint.attempts
            endpoint.maxInFlight =
                try c.decodeIfPresent(Int.self, forKey: .endpointMaxInFlight) ?? endpoint.maxInFlight
            self.endpoint = endpoint
        } else if let key = Self.endpointSettingKeys.first(where: { c.contains($0) }) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\(key.stringValue) needs `endpoint: URL` beside it")
        }
    }

    /// Encodes every key of the flat mapping.
    public func encode(to encoder: any Encoder) throws {
        try rolling.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(vocabulary, forKey: .vocabulary)
        try c.encode(beamWidth, forKey: .beam)
        try c.encodeIfPresent(cacheDirectory, forKey: .cache)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(modelBeams, forKey: .beams)
        try c.encodeIfPresent(maxTokens, forKey: .maxTokens)
        if !ask.isEmpty { try c.encode(ask, forKey: .ask) }
        if let endpoint {
            try c.encode(endpoint.url, forKey: .endpoint)
            try c.encode(endpoint.model, forKey: .endpointModel)
            try c.encodeIfPresent(endpoint.keyVariable, forKey: .endpointKeyEnv)
            try c.encode(endpoint.timeout, forKey: .endpointTimeout)
            try c.encode(endpoint.attempts, forKey: .endpointAttempts)
            try c.encode(endpoint.maxInFlight, forKey: .endpointMaxInFlight)
        }
    }
}
