#ifndef CSENTENCEPIECE_SHIM_H
#define CSENTENCEPIECE_SHIM_H

// The library's own header is C++ (sentencepiece_processor.h); CSentencePieceShim includes it and exposes a C API
// (vlm_sentencepiece.h). This header is only here so the module map names something C-safe.

#endif
