import Foundation

/// A JSON Schema (draft 2020-12) validator for the subset vlm-stream's schemas use. No Swift JSON-Schema library is
/// among the mirrored packages, so this is small and explicit about what it checks.
///
/// Checked: `type` (string or array; `integer` means a number with no fraction), `enum`, `const`, `properties`,
/// `required`, `additionalProperties` (boolean or schema), `items` (one schema), `minItems`, `maxItems`,
/// `minLength`/`maxLength` (in Unicode code points), `pattern` (NSRegularExpression, unanchored search as the spec
/// says), `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`.
/// Annotations only, not checked: `$schema`, `$id`, `title`, `description`, `contentEncoding`, `contentMediaType`.
/// Any other keyword makes `init` throw, so a schema can never rely on a keyword this validator silently ignores.
public struct JSONSchema: Sendable {
    public let root: JSONValue
    public let name: String

    static let checked: Set<String> = [
        "type", "enum", "const", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
        "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ]
    static let annotations: Set<String> = [
        "$schema", "$id", "title", "description", "contentEncoding", "contentMediaType",
    ]

    /// Why a schema cannot be used or a document does not match it.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path.isEmpty ? "/" : path): \(reason)" }
    }

    public init(_ root: JSONValue, name: String = "schema") throws {
        self.root = root
        self.name = name
        try JSONSchema.checkKeywords(root, path: "")
    }

    /// Loads `Configs/schemas/<kind>.json` from the repository.
    public static func load(_ kind: String) throws -> JSONSchema {
        let url = Fixtures.root.appendingPathComponent("Configs/schemas/\(kind).json")
        return try JSONSchema(JSONValue.parse(Array(try Data(contentsOf: url))), name: kind)
    }

    /// All the ways `document` breaks the schema (empty when it is valid).
    public func failures(_ document: JSONValue) -> [Failure] {
        var out: [Failure] = []
        JSONSchema.check(document, against: root, path: "", into: &out)
        return out
    }

    /// Throws the first failure.
    public func validate(_ document: JSONValue) throws {
        if let first = failures(document).first { throw first }
    }

    // MARK: - Keywords

    private static func checkKeywords(_ schema: JSONValue, path: String) throws {
        guard case .object(let members) = schema else {
            if case .bool = schema { return }
            throw Failure(path: path, reason: "a schema must be an object or boolean")
        }
        for (key, value) in members {
            guard checked.contains(key) || annotations.contains(key) else {
                throw Failure(path: path, reason: "keyword '\(key)' is not supported by the test validator")
            }
            switch key {
            case "properties":
                guard case .object(let properties) = value else { throw Failure(path: path, reason: "bad properties") }
                for (name, sub) in properties { try checkKeywords(sub, path: "\(path)/properties/\(name)") }
            case "items", "additionalProperties":
                try checkKeywords(value, path: "\(path)/\(key)")
            default: break
            }
        }
    }

    private static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("integer", .number(let n)): return n.rounded() == n
        default: return typeName(value) == type
        }
    }

    private static func check(_ value: JSONValue, against schema: JSONValue, path: String, into out: inout [Failure]) {
        if case .bool(let allowed) = schema {
            if !allowed { out.append(Failure(path: path, reason: "no value is allowed here")) }
            return
        }
        func fail(_ reason: String) { out.append(Failure(path: path, reason: reason)) }
        if let type = schema["type"] {
            let names = type.array?.compactMap(\.string) ?? [type.string ?? ""]
            if !names.contains(where: { matches(value, type: $0) }) {
                fail("is \(typeName(value)), expected \(names.joined(separator: " or "))")
                return
            }
        }
        if let options = schema["enum"]?.array, !options.contains(value) { fail("not one of the enum values") }
        if let constant = schema["const"], constant != value { fail("must equal the const value") }
        if case .number(let n) = value {
            if let m = schema["minimum"]?.number, n < m { fail("\(n) < minimum \(m)") }
            if let m = schema["maximum"]?.number, n > m { fail("\(n) > maximum \(m)") }
            if let m = schema["exclusiveMinimum"]?.number, n <= m { fail("\(n) <= exclusiveMinimum \(m)") }
            if let m = schema["exclusiveMaximum"]?.number, n >= m { fail("\(n) >= exclusiveMaximum \(m)") }
        }
        if case .string(let s) = value {
            let length = s.unicodeScalars.count
            if let m = schema["minLength"]?.int, length < m { fail("length \(length) < minLength \(m)") }
            if let m = schema["maxLength"]?.int, length > m { fail("length \(length) > maxLength \(m)") }
            if let pattern = schema["pattern"]?.string, s.range(of: pattern, options: .regularExpression) == nil {
                fail("does not match pattern \(pattern)")
            }
        }
        if case .array(let items) = value {
            if let m = schema["minItems"]?.int, items.count < m { fail("\(items.count) items < minItems \(m)") }
            if let m = schema["maxItems"]?.int, items.count > m { fail("\(items.count) items > maxItems \(m)") }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() {
                    check(item, against: itemSchema, path: "\(path)/\(i)", into: &out)
                }
            }
        }
        if case .object(let members) = value {
            let keys = members.map(\.key)
            if Set(keys).count != keys.count { fail("duplicate keys") }
            for name in schema["required"]?.array?.compactMap(\.string) ?? [] where !keys.contains(name) {
                fail("missing required '\(name)'")
            }
            let properties = schema["properties"]
            for (key, member) in members {
                if let sub = properties?[key] {
                    check(member, against: sub, path: "\(path)/\(key)", into: &out)
                } else if let extra = schema["additionalProperties"] {
                    if case .bool(false) = extra {
                        fail("unknown property '\(key)'")
                    } else {
                        check(member, against: extra, path: "\(path)/\(key)", into: &out)
                    }
                }
            }
        }
    }
}
