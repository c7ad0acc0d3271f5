// extern "C" wrappers over sentencepiece::SentencePieceProcessor (see include/vlm_sentencepiece.h). No exception or
// C++ object crosses the boundary: failures become a negative return and a message.
#include "vlm_sentencepiece.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

struct vlm_sp_processor {
    sentencepiece::SentencePieceProcessor sp;
};

namespace {

void set_error(char *error, size_t size, const std::string &message) {
    if (error == nullptr || size == 0) return;
    size_t n = message.size() < size - 1 ? message.size() : size - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

vlm_sp_processor *finish_load(
    std::unique_ptr<vlm_sp_processor> processor, const sentencepiece::util::Status &status, char *error,
    size_t error_size) {
    if (!status.ok()) {
        set_error(error, error_size, status.ToString());
        return nullptr;
    }
    if (processor->sp.GetPieceSize() <= 0) {
        set_error(error, error_size, "the model has no pieces");
        return nullptr;
    }
    return processor.release();
}

}  // namespace

extern "C" {

vlm_sp_processor *vlm_sp_load_file(const char *path, char *error, size_t error_size) {
    try {
        auto processor = std::make_unique<vlm_sp_processor>();
        auto status = processor->sp.Load(path);
        return finish_load(std::move(processor), status, error, error_size);
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
        return nullptr;
    }
}

vlm_sp_processor *vlm_sp_load_bytes(const void *bytes, size_t count, char *error, size_t error_size) {
    try {
        auto processor = std::make_unique<vlm_sp_processor>();
        auto status = processor->sp.LoadFromSerializedProto(
            std::string_view(static_cast<const char *>(bytes), count));
        return finish_load(std::move(processor), status, error, error_size);
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
        return nullptr;
    }
}

void vlm_sp_free(vlm_sp_processor *processor) { delete processor; }

int32_t vlm_sp_vocab_size(const vlm_sp_processor *p) { return p->sp.GetPieceSize(); }

int32_t vlm_sp_piece_to_id(const vlm_sp_processor *p, const char *piece, size_t length) {
    return p->sp.PieceToId(std::string_view(piece, length));
}

int64_t vlm_sp_id_to_piece(const vlm_sp_processor *p, int32_t id, char *out, size_t capacity) {
    if (id < 0 || id >= p->sp.GetPieceSize()) return -1;
    const std::string &piece = p->sp.IdToPiece(id);
    if (capacity > 0) {
        size_t n = piece.size() < capacity - 1 ? piece.size() : capacity - 1;
        std::memcpy(out, piece.data(), n);
        out[n] = '\0';
    }
    return static_cast<int64_t>(piece.size());
}

int32_t vlm_sp_unk_id(const vlm_sp_processor *p) { return p->sp.unk_id(); }
int32_t vlm_sp_bos_id(const vlm_sp_processor *p) { return p->sp.bos_id(); }
int32_t vlm_sp_eos_id(const vlm_sp_processor *p) { return p->sp.eos_id(); }
int32_t vlm_sp_pad_id(const vlm_sp_processor *p) { return p->sp.pad_id(); }

int32_t vlm_sp_is_control(const vlm_sp_processor *p, int32_t id) {
    if (id < 0 || id >= p->sp.GetPieceSize()) return 0;
    return p->sp.IsControl(id) ? 1 : 0;
}

int64_t vlm_sp_encode_ids(
    const vlm_sp_processor *p, const char *text, size_t length, int32_t *ids, size_t capacity, char *error,
    size_t error_size) {
    try {
        std::vector<int> out;
        auto status = p->sp.Encode(std::string_view(text, length), &out);
        if (!status.ok()) {
            set_error(error, error_size, status.ToString());
            return -1;
        }
        for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
        return static_cast<int64_t>(out.size());
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
        return -1;
    }
}

int64_t vlm_sp_encode_pieces(
    const vlm_sp_processor *p, const char *text, size_t length, char *out, size_t capacity, char *error,
    size_t error_size) {
    try {
        std::vector<std::string> pieces;
        auto status = p->sp.Encode(std::string_view(text, length), &pieces);
        if (!status.ok()) {
            set_error(error, error_size, status.ToString());
            return -1;
        }
        std::string joined;
        for (const auto &piece : pieces) {
            joined += piece;
            joined.push_back('\0');
        }
        std::memcpy(out, joined.data(), joined.size() < capacity ? joined.size() : capacity);
        return static_cast<int64_t>(joined.size());
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
        return -1;
    }
}

int64_t vlm_sp_decode_ids(
    const vlm_sp_processor *p, const int32_t *ids, size_t count, char *out, size_t capacity, char *error,
    size_t error_size) {
    try {
        std::vector<int> input(ids, ids + count);
        for (int id : input) {
            if (id < 0 || id >= p->sp.GetPieceSize()) {
                set_error(error, error_size, "id " + std::to_string(id) + " is outside the vocabulary");
                return -1;
            }
        }
        std::string text;
        auto status = p->sp.Decode(input, &text);
        if (!status.ok()) {
            set_error(error, error_size, status.ToString());
            return -1;
        }
        std::memcpy(out, text.data(), text.size() < capacity ? text.size() : capacity);
        return static_cast<int64_t>(text.size());
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
        return -1;
    }
}

int32_t vlm_sp_set_encode_extra_options(vlm_sp_processor *p, const char *options, char *error, size_t error_size) {
    auto status = p->sp.SetEncodeExtraOptions(options);
    if (!status.ok()) {
        set_error(error, error_size, status.ToString());
        return -1;
    }
    return 0;
}

}  // extern "C"
