#ifndef VLM_SENTENCEPIECE_H
#define VLM_SENTENCEPIECE_H

// A thin C face of libsentencepiece's C++ SentencePieceProcessor. Every function that can fail returns 0 on success
// and a negative value on failure, with a one-line message in `error` (NUL-terminated, truncated to `error_size`).
// Strings are UTF-8 with explicit lengths; output arrays are filled up to their capacity and the needed count is
// returned, so callers retry with a larger buffer when it did not fit.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vlm_sp_processor vlm_sp_processor;

/// Loads a serialized SentencePiece model from a file; NULL on failure (message in `error`).
vlm_sp_processor *vlm_sp_load_file(const char *path, char *error, size_t error_size);
/// Loads a serialized SentencePiece model from memory; NULL on failure (message in `error`).
vlm_sp_processor *vlm_sp_load_bytes(const void *bytes, size_t count, char *error, size_t error_size);
/// Frees a processor (NULL is ignored).
void vlm_sp_free(vlm_sp_processor *processor);

/// Number of pieces in the vocabulary.
int32_t vlm_sp_vocab_size(const vlm_sp_processor *processor);
/// The id of `piece` (the unknown id when it is not in the vocabulary).
int32_t vlm_sp_piece_to_id(const vlm_sp_processor *processor, const char *piece, size_t length);
/// Copies the piece of `id` into `out` (NUL-terminated, truncated to `capacity`); returns its byte length, or -1
/// when `id` is out of range.
int64_t vlm_sp_id_to_piece(const vlm_sp_processor *processor, int32_t id, char *out, size_t capacity);
/// The special ids the model declares (-1 when it has none).
int32_t vlm_sp_unk_id(const vlm_sp_processor *processor);
int32_t vlm_sp_bos_id(const vlm_sp_processor *processor);
int32_t vlm_sp_eos_id(const vlm_sp_processor *processor);
int32_t vlm_sp_pad_id(const vlm_sp_processor *processor);
/// 1 when `id` is a control symbol (<s>, </s>, <pad>), 0 otherwise.
int32_t vlm_sp_is_control(const vlm_sp_processor *processor, int32_t id);

/// Encodes `text` to ids. Returns the number of ids (writing at most `capacity` of them) or -1 on failure.
int64_t vlm_sp_encode_ids(
    const vlm_sp_processor *processor, const char *text, size_t length, int32_t *ids, size_t capacity, char *error,
    size_t error_size);
/// Encodes `text` to pieces, written into `out` as NUL-separated UTF-8 strings. Returns the bytes needed (the
/// whole list including each NUL; at most `capacity` are written) or -1 on failure.
int64_t vlm_sp_encode_pieces(
    const vlm_sp_processor *processor, const char *text, size_t length, char *out, size_t capacity, char *error,
    size_t error_size);
/// Decodes ids to text. Returns the byte length (writing at most `capacity` bytes, not NUL-terminated) or -1.
int64_t vlm_sp_decode_ids(
    const vlm_sp_processor *processor, const int32_t *ids, size_t count, char *out, size_t capacity, char *error,
    size_t error_size);
/// Sets encoder extra options ("bos:eos", "reverse", …; see SentencePieceProcessor::SetEncodeExtraOptions).
int32_t vlm_sp_set_encode_extra_options(
    vlm_sp_processor *processor, const char *options, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
