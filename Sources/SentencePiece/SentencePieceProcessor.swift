import CSentencePieceShim
import Foundation
import VLMCore

/// A SentencePiece model (`spiece.model`, `tokenizer.model`) run by the real library (libsentencepiece, through
/// the C shim CSentencePieceShim). Owns the native processor; no C pointer leaves this class.
///
/// Thread-safe: after loading, every call is a const method of the C++ processor, which may be called from any
/// number of threads at once.
public final class SentencePieceProcessor: @unchecked Sendable {
    // @unchecked: `handle` is set once in init and freed in deinit; the C++ methods used are const.
    private let handle: OpaquePointer
    /// The file the model came from (for error messages); "<memory>" when loaded from bytes.
    public let source: String

    /// Loads a serialized model from `url`. Anything that is not a SentencePiece model throws a one-line
    /// `SentencePieceError` naming the file.
    public init(contentsOf url: URL) throws {
        source = url.path
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw SentencePieceError(file: url.path, "cannot be read; expected a SentencePiece model")
        }
        // Read the bytes here (rather than letting the library open the path) so a directory or unreadable file
        // gets the same message on every platform.
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SentencePieceError(file: url.path, "cannot be read; expected a SentencePiece model")
        }
        handle = try Self.load(data, name: url.path)
    }

    /// Loads a serialized model from memory (`name` is used in error messages).
    public init(bytes: Data, name: String = "<memory>") throws {
        source = name
        handle = try Self.load(bytes, name: name)
    }

    private static func load(_ data: Data, name: String) throws -> OpaquePointer {
        var error = [CChar](repeating: 0, count: 512)
        let pointer = data.withUnsafeBytes { raw in
            vlm_sp_load_bytes(raw.baseAddress, raw.count, &error, error.count)
        }
        guard let pointer else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw SentencePieceError(
                file: name, "is not a SentencePiece model (\(reason.isEmpty ? "unreadable" : reason))")
        }
        return pointer
    }

    deinit { vlm_sp_free(handle) }

    // MARK: - Vocabulary

    /// Number of pieces.
    public var vocabularySize: Int { Int(vlm_sp_vocab_size(handle)) }
    /// The unknown piece's id.
    public var unknownID: Int32 { vlm_sp_unk_id(handle) }
    /// The model's own begin, end and padding ids (nil when the model declares none).
    public var bosID: Int32? { Self.optional(vlm_sp_bos_id(handle)) }
    public var eosID: Int32? { Self.optional(vlm_sp_eos_id(handle)) }
    public var padID: Int32? { Self.optional(vlm_sp_pad_id(handle)) }

    private static func optional(_ id: Int32) -> Int32? { id < 0 ? nil : id }

    /// The id of `piece`, or `unknownID` when it is not in the vocabulary.
    public func id(of piece: String) -> Int32 {
        var piece = piece
        return piece.withUTF8 { utf8 in
            vlm_sp_piece_to_id(
                handle, UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), utf8.count)
        }
    }

    /// The piece of `id`, or nil when `id` is out of range.
    public func piece(of id: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        var length = vlm_sp_id_to_piece(handle, id, &buffer, buffer.count)
        guard length >= 0 else { return nil }
        if Int(length) >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(length) + 1)
            length = vlm_sp_id_to_piece(handle, id, &buffer, buffer.count)
        }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `id` is a control symbol (`<s>`, `</s>`, `<pad>`).
    public func isControl(_ id: Int32) -> Bool { vlm_sp_is_control(handle, id) != 0 }

    // MARK: - Encoding

    /// The ids of `text` as the model's normalizer and segmenter produce them (no special ids added).
    public func encode(_ text: String) throws -> [Int32] {
        var text = text
        return try text.withUTF8 { utf8 in
            let base = UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var error = [CChar](repeating: 0, count: 256)
            var ids = [Int32](repeating: 0, count: max(16, utf8.count + 2))
            var count = vlm_sp_encode_ids(handle, base, utf8.count, &ids, ids.count, &error, error.count)
            if count > ids.count {
                ids = [Int32](repeating: 0, count: Int(count))
                count = vlm_sp_encode_ids(handle, base, utf8.count, &ids, ids.count, &error, error.count)
            }
            guard count >= 0 else { throw failure(error) }
            return Array(ids.prefix(Int(count)))
        }
    }

    /// The pieces of `text` (what `encode` returns, as strings).
    public func encodeAsPieces(_ text: String) throws -> [String] {
        var text = text
        return try text.withUTF8 { utf8 in
            let base = UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var error = [CChar](repeating: 0, count: 256)
            var out = [CChar](repeating: 0, count: max(64, utf8.count * 4 + 16))
            var count = vlm_sp_encode_pieces(handle, base, utf8.count, &out, out.count, &error, error.count)
            if count > out.count {
                out = [CChar](repeating: 0, count: Int(count))
                count = vlm_sp_encode_pieces(handle, base, utf8.count, &out, out.count, &error, error.count)
            }
            guard count >= 0 else { throw failure(error) }
            return out.prefix(Int(count)).split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
                String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// The text of `ids`; throws when an id is outside the vocabulary.
    public func decode(_ ids: [Int32]) throws -> String {
        var error = [CChar](repeating: 0, count: 256)
        var out = [CChar](repeating: 0, count: max(64, ids.count * 16))
        var count = vlm_sp_decode_ids(handle, ids, ids.count, &out, out.count, &error, error.count)
        if count > out.count {
            out = [CChar](repeating: 0, count: Int(count))
            count = vlm_sp_decode_ids(handle, ids, ids.count, &out, out.count, &error, error.count)
        }
        guard count >= 0 else { throw failure(error) }
        return String(decoding: out.prefix(Int(count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func failure(_ error: [CChar]) -> SentencePieceError {
        SentencePieceError(
            file: source, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// A SentencePiece model that cannot be loaded or used: names the file, on one line.
public struct SentencePieceError: UserFacingError, Equatable {
    /// The model file.
    public var file: String
    /// What is wrong.
    public var problem: String

    /// An error about `file`.
    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
