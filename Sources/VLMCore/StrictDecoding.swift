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

extension KeyedDecodingContainer {
    /// A list of strings in which YAML's null (`~`, `null`, an empty item) is refused, naming its index: decoded as a
    /// plain `[String]`, Yams reads it as the text `~`, and a query of that would run.
    public func decodeStrings(forKey key: Key) throws -> [String]? {
        guard let items = try decodeIfPresent([String?].self, forKey: key) else { return nil }
        if let index = items.firstIndex(where: { $0 == nil }) {
            throw DecodingError.valueNotFound(
                String.self,
                .init(codingPath: codingPath + [key, AnyCodingKey(intValue: index)!], debugDescription: "null"))
        }
        return items.compactMap { $0 }
    }
}
