import Foundation

// MARK: - Python string semantics

extension SentencePieceTokenizer {
    /// Python's `str.isspace()` code points: Unicode White_Space plus the separators U+001C…U+001F.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// Python's `str.lower()`, code point by code point (full case mappings), with its one context rule: Σ is ς at
    /// the end of a word (`handle_capital_sigma`).
    static func lowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, s) in scalars.enumerated() {
            if s == "\u{03A3}" {
                out.append(isFinalSigma(scalars, at: i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// Unicode's Final_Sigma context, as Python tests it: a cased character before position `i` and none after it,
    /// each looked for past case-ignorable characters (`\p{cased}\p{case-ignorable}*Σ!(\p{case-ignorable}*\p{cased})`).
    static func isFinalSigma(_ scalars: [Unicode.Scalar], at i: Int) -> Bool {
        guard let before = scalars[..<i].last(where: { !$0.properties.isCaseIgnorable }), before.properties.isCased
        else { return false }
        let after = scalars[(i + 1)...].first { !$0.properties.isCaseIgnorable }
        return !(after?.properties.isCased ?? false)
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

/// The special tokens and flags of tokenizer_config.json that change ids, with each flavour's defaults. For Gemma, a
/// flag the config leaves out is what transformers 5 takes then: `<bos>`/`<eos>` as tokenizer.json's post-processor
/// adds them and the side its padding names, and without tokenizer.json neither token and left padding
/// (`GemmaTokenizer.padding_side`).
struct TokenizerOptions {
    var unk = "<unk>"
    var eos: String
    var bos = "<bos>"
    var pad: String
    var addBOS: Bool
    var addEOS: Bool
    var lowercase: Bool
    /// `padding_side`.
    var padLeft: Bool

    init(directory: URL, flavor: SentencePieceTokenizer.Flavor) throws {
        switch flavor {
        case .siglip:
            (eos, pad, addBOS, addEOS, lowercase, padLeft) = ("</s>", "</s>", false, true, true, false)
        case .gemma:
            (eos, pad, addBOS, addEOS, lowercase, padLeft) = ("<eos>", "<pad>", false, false, false, true)
        }
        let url = directory.appendingPathComponent("tokenizer_config.json")
        // An optional file: without it, the defaults (and for Gemma tokenizer.json) apply.
        let json = try Self.jsonObject(at: url) ?? [:]
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
            let (bosFlag, eosFlag, side) = (
                json["add_bos_token"] as? Bool, json["add_eos_token"] as? Bool,
                json["padding_side"] as? String
            )
            if bosFlag == nil || eosFlag == nil || side == nil,
                let fast = try Self.fastTokenizerFlags(directory.appendingPathComponent("tokenizer.json"), bos, eos)
            {
                (addBOS, addEOS) = (fast.bos, fast.eos)
                padLeft = fast.padLeft ?? padLeft
            }
            addBOS = bosFlag ?? addBOS
            addEOS = eosFlag ?? addEOS
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

    /// The JSON object in the optional file at `url`: nil when it cannot be read, an error naming it when it is not
    /// a JSON object.
    static func jsonObject(at url: URL) throws -> [String: Any]? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIPLoadError(file: url.path, "is not a JSON object")
        }
        return object
    }

    /// What tokenizer.json (when present) says transformers 5 adds and pads: whether its post-processor's template for
    /// one sequence starts with `bos` and ends with `eos`, and the side its padding names (nil: no padding).
    static func fastTokenizerFlags(_ url: URL, _ bos: String, _ eos: String) throws -> (
        bos: Bool, eos: Bool, padLeft: Bool?
    )? {
        guard let json = try jsonObject(at: url) else { return nil }
        // TemplateProcessing, alone or inside a Sequence post-processor.
        let post = json["post_processor"] as? [String: Any]
        let template = ([post] + ((post?["processors"] as? [Any]) ?? []).map { $0 as? [String: Any] })
            .compactMap { $0 }.first { $0["type"] as? String == "TemplateProcessing" }
        let single = (template?["single"] as? [Any]) ?? []
        func special(_ item: Any?) -> String? {
            ((item as? [String: Any])?["SpecialToken"] as? [String: Any])?["id"] as? String
        }
        let direction = (json["padding"] as? [String: Any])?["direction"] as? String
        return (special(single.first) == bos, special(single.last) == eos, direction.map { $0 == "Left" })
    }
}
