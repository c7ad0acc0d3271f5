import Foundation
import VLMCore
import VLMGraph
import Yams

/// A pipeline file or spec that cannot be used: one line naming the file, the key and what to do.
public struct PipelineSpecError: UserFacingError, Equatable {
    /// The file (or `command line`).
    public var file: String
    /// What is wrong and how to fix it.
    public var message: String

    /// An error about `file`.
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    /// `pipeline.yaml: sources[0].sampling.fps: expected a number …`.
    public var description: String { "\(file): \(message)" }
}

extension PipelineSpec {
    /// Reads and validates a pipeline file.
    public static func load(from url: URL) throws -> PipelineSpec {
        let text: String
        do {
            text = try TextFile.read(url)
        } catch {
            throw PipelineSpecError(file: url.path, error.description)
        }
        return try parse(yaml: text, file: url.path)
    }

    /// Parses YAML text (`file` names it in errors) and validates the result.
    public static func parse(yaml text: String, file: String) throws -> PipelineSpec {
        let spec: PipelineSpec
        do {
            guard let node = try Yams.compose(yaml: text), node.mapping != nil else {
                throw PipelineSpecError(file: file, "expected a mapping with at least `sources:` (see Pipelines/)")
            }
            spec = try YAMLDecoder().decode(PipelineSpec.self, from: node)
        } catch let error as PipelineSpecError {
            throw error
        } catch let error as DecodingError {
            throw PipelineSpecError(file: file, Self.describe(error))
        } catch let error as YamlError {
            let first = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw PipelineSpecError(file: file, "not valid YAML: \(first)")
        } catch let error as UserFacingError {
            throw PipelineSpecError(file: file, Self.withYAMLKeys(error.description))
        } catch {
            throw PipelineSpecError(file: file, "\(error)")
        }
        do {
            try spec.validate()
        } catch let error as PipelineSpecError {
            throw PipelineSpecError(file: file, error.message)
        }
        return spec
    }

    /// The spec as a pipeline file (every key written, defaults included); `parse` reads it back to an equal spec.
    public func yaml() throws -> String {
        let text = try YAMLEncoder().encode(self)
        guard let node = try Yams.compose(yaml: text) else { return text }
        return try Yams.serialize(node: Self.plainNumbers(node))
    }

    /// Yams writes every `Double` in scientific notation (`4e+0`); a file a person reads says `4.0`.
    private static func plainNumbers(_ node: Node) -> Node {
        switch node {
        case .scalar(var scalar):
            if scalar.style == .plain || scalar.style == .any, scalar.string.contains("e"),
                let value = Double(scalar.string)
            {
                scalar.string = "\(value)"
            }
            return .scalar(scalar)
        case .mapping(let mapping):
            return .mapping(
                Node.Mapping(mapping.map { ($0.key, plainNumbers($0.value)) }, mapping.tag, mapping.style))
        case .sequence(let sequence):
            return .sequence(Node.Sequence(sequence.map(plainNumbers), sequence.tag, sequence.style))
        case .alias:
            return node
        }
    }

    /// `sources[0].sampling.fps: expected Double` from a decoding error.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += (out.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return out.isEmpty ? "top level" : out
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))"
            return "missing required key '\(key.stringValue)'\(at)"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type)), found nothing"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type: return "a whole number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default:
            let name = "\(type)"
            // Yams names the YAML node it wanted: `Sequence`, `Mapping`.
            if name.hasPrefix("Array") || name.hasSuffix("Sequence") { return "a list" }
            if name.hasPrefix("Dictionary") || name.hasSuffix("Mapping") { return "a mapping" }
            return "a \(name) mapping"
        }
    }
}
