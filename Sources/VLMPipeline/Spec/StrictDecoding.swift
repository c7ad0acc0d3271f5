/// Any string key, to list the keys a mapping actually has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

/// A `Decodable` whose mappings refuse keys they do not know, so a typo never silently falls back to a default.
protocol StrictDecodable: Decodable {
    associatedtype Keys: CodingKey & CaseIterable
}

extension Decoder {
    /// Throws when the mapping being decoded has a key outside `Keys`, naming it and the keys allowed.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_: Keys.Type) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let known = Keys.allCases.map(\.stringValue)
        for key in container.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath + [key],
                    debugDescription: "unknown key '\(key.stringValue)' (known keys: \(known.joined(separator: ", ")))"
                ))
        }
    }
}
