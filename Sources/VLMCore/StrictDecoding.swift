/// Any string key, to list the keys a mapping actually has.
public struct AnyCodingKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int?

    public init(stringValue: String) { self.stringValue = stringValue }

    public init?(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws when the mapping being decoded has a key outside `Keys`, naming it and the keys allowed, so a typo
    /// in a settings file never silently falls back to a default.
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_: Keys.Type) throws {
        try rejectUnknownKeys(known: Keys.allCases.map(\.stringValue))
    }

    /// Throws when the mapping being decoded has a key not in `known` (for types whose keys span several
    /// `CodingKey` enums, such as settings that embed other settings in the same mapping).
    public func rejectUnknownKeys(known: [String]) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath + [key],
                    debugDescription: "unknown key '\(key.stringValue)' (known keys: \(known.joined(separator: ", ")))"
                ))
        }
    }
}
