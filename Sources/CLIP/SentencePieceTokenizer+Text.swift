import Foundation

// MARK: - Python string semantics

extension SentencePieceTokenizer {
    /// Python's `str.isspace()` code points: Unicode White_Space plus the separators U+001C…U+001F.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// Python's `str.lower()`, code point by code point (full case mappings).
    static func lowercased(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars { out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
        return String(out)
    }

    /// `SiglipTokenizer.canonicalize_text` (big_vision's): lower-case, remove `string.punctuation` (ASCII),
    /// every `\s+` run → one space, strip.
    static func canonicalize(_ text: String, lowercase: Bool) -> String {
        let punctuation = Set(##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##.unicodeScalars)
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in (lowercase ? lowercased(text) : text).unicodeScalars where !punctuation.contains(s) {
            if isPythonSpace(s) {
                pendingSpace = true
                continue
            }
            if pendingSpace && !out.isEmpty { out.append(" ") }
            pendingSpace = false
            out.append(s)
        }
        return String(out)
    }

    /// Python's `str.strip()` on one side.
    static func strip(_ text: String, leading: Bool) -> String {
        var scalars = Array(text.unicodeScalars)
        if leading {
            scalars = Array(scalars.drop(while: isPythonSpace))
        } else {
            while let last = scalars.last, isPythonSpace(last) { scalars.removeLast() }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }
}

// MARK: - tokenizer_config.json

/// The special tokens and flags of tokenizer_config.json that change ids, with each flavour's defaults.
struct TokenizerOptions {
    var unk = "<unk>"
    var eos: String
    var bos = "<bos>"
    var pad: String
    var addBOS: Bool
    var addEOS: Bool
    var lowercase: Bool
    /// `padding_side` (right when absent, as transformers 5 loads these files).
    var padLeft: Bool

    init(directory: URL, flavor: SentencePieceTokenizer.Flavor) throws {
        switch flavor {
        case .siglip:
            (eos, pad, addBOS, addEOS, lowercase, padLeft) = ("</s>", "</s>", false, true, true, false)
        case .gemma:
            (eos, pad, addBOS, addEOS, lowercase, padLeft) = ("<eos>", "<pad>", true, false, false, false)
        }
        let url = directory.appendingPathComponent("tokenizer_config.json")
        guard let data = try? Data(contentsOf: url) else { return }  // optional file: the defaults apply
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIPLoadError(file: url.path, "is not a JSON object")
        }
        /// A token written as a string or as an AddedToken object (`{"content": "</s>", …}`).
        func token(_ key: String) -> String? {
            if let s = json[key] as? String { return s }
            return (json[key] as? [String: Any])?["content"] as? String
        }
        unk = token("unk_token") ?? unk
        eos = token("eos_token") ?? eos
        bos = token("bos_token") ?? bos
        pad = token("pad_token") ?? pad
        if flavor == .gemma {
            addBOS = json["add_bos_token"] as? Bool ?? addBOS
            addEOS = json["add_eos_token"] as? Bool ?? addEOS
            lowercase = (json["tokenizer_class"] as? String)?.hasPrefix("Siglip2Tokenizer") ?? false
        } else {
            lowercase = json["do_lower_case"] as? Bool ?? lowercase
        }
        switch json["padding_side"] as? String {
        case nil: break
        case "right": padLeft = false
        case "left": padLeft = true
        case let side?: throw CLIPLoadError(file: url.path, "padding_side \"\(side)\" must be \"left\" or \"right\"")
        }
    }
}
