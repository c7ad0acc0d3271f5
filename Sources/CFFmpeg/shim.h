#ifndef CFFMPEG_SHIM_H
#define CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/version.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/dict.h>

#include <dlfcn.h>

/// libavdevice (V4L2 cameras) links about a hundred more shared libraries (SDL, PulseAudio, X11, OpenGL, JACK…),
/// about 20 MB resident in every process that links it, so it is loaded only when a camera is opened.
/// Registers its input devices; returns 0, or -1 (with `dlerror()`) when the library cannot be loaded.
static inline int cffmpeg_register_devices(void) {
#ifdef __APPLE__
    void *library = dlopen("libavdevice." AV_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR) ".dylib", RTLD_NOW | RTLD_GLOBAL);
#else
    void *library = dlopen("libavdevice.so." AV_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR), RTLD_NOW | RTLD_GLOBAL);
#endif
    if (!library) return -1;
    void (*register_all)(void) = (void (*)(void))dlsym(library, "avdevice_register_all");
    if (!register_all) return -1;
    register_all();
    return 0;
}

/// The last dynamic-loading error, or "" (for messages).
static inline const char *cffmpeg_dlerror(void) {
    const char *message = dlerror();
    return message ? message : "";
}

/// AVERROR(EAGAIN) and AVERROR_EOF are macros Swift cannot import; these give their values.
static inline int cffmpeg_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int cffmpeg_averror(int posix) { return AVERROR(posix); }
static inline int64_t cffmpeg_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational cffmpeg_time_base_q(void) { return AV_TIME_BASE_Q; }
static inline int cffmpeg_averror_exit(void) { return AVERROR_EXIT; }
static inline int cffmpeg_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int cffmpeg_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int cffmpeg_averror_enoent(void) { return AVERROR(ENOENT); }
static inline int cffmpeg_averror_etimedout(void) { return AVERROR(ETIMEDOUT); }

#endif
