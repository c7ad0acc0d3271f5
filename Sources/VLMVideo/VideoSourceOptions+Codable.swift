import VLMCore

// MARK: - YAML keys (a pipeline file's `sources:` entries)

extension SamplingPolicy: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case fps, every, keyframes }

    /// Decodes `{fps: 2}`, `{every: 5}` or `{keyframes: true}`; an empty mapping is the default 2 fps. More than one
    /// choice, or an unknown key, is an error. Ranges are checked by the pipeline's validation.
    public init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let fps = try c.decodeIfPresent(Double.self, forKey: .fps)
        let every = try c.decodeIfPresent(Int.self, forKey: .every)
        let keyframes = try c.decodeIfPresent(Bool.self, forKey: .keyframes) ?? false
        guard [fps != nil, every != nil, keyframes].filter({ $0 }).count <= 1 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "give only one of fps, every and keyframes"))
        }
        if keyframes {
            self = .keyframes
        } else if let every {
            self = .every(every)
        } else {
            self = fps.map { .fps($0) } ?? VideoSourceOptions().sampling
        }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .fps(let n): try c.encode(n, forKey: .fps)
        case .every(let n): try c.encode(n, forKey: .every)
        case .keyframes: try c.encode(true, forKey: .keyframes)
        }
    }

    /// The rate of `.fps`, nil for the other policies.
    public var fps: Double? {
        if case .fps(let n) = self { return n }
        return nil
    }

    /// N of `.every`, nil for the other policies.
    public var every: Int? {
        if case .every(let n) = self { return n }
        return nil
    }
}

extension TileGrid: Codable {
    /// Decodes `2x2` (columns x rows, at most 64 tiles).
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let grid = TileGrid(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(text)' must look like 2x2 (columns x rows, at most 64 tiles)")
        }
        self = grid
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension SceneChangeGate.Configuration: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case threshold
        case maxReuse = "max_reuse"
        case pixelThreshold = "pixel_threshold"
        case changedFraction = "changed_fraction"
    }

    /// Decodes `{threshold: 4, max_reuse: 5, pixel_threshold: 20, changed_fraction: 0.01}`; every key optional.
    public init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        meanThreshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? meanThreshold
        maxReuseInterval = try c.decodeIfPresent(Double.self, forKey: .maxReuse) ?? maxReuseInterval
        pixelThreshold = try c.decodeIfPresent(Int.self, forKey: .pixelThreshold) ?? pixelThreshold
        changedFraction = try c.decodeIfPresent(Double.self, forKey: .changedFraction) ?? changedFraction
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(meanThreshold, forKey: .threshold)
        try c.encodeIfPresent(maxReuseInterval, forKey: .maxReuse)
        try c.encode(pixelThreshold, forKey: .pixelThreshold)
        try c.encode(changedFraction, forKey: .changedFraction)
    }
}
