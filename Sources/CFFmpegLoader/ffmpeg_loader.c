// FFmpeg, loaded on first use (see ffmpeg_loader.h).
//
// VLMVideo calls FFmpeg's functions by their own names, declared by FFmpeg's headers (the CFFmpeg module). This
// file defines each of those names as a function of the same signature that calls the library's own, found with
// `dlsym` when `cffmpeg_load()` runs. The compiler checks every definition against FFmpeg's declaration, so a
// signature that does not match does not build. The definitions are hidden: they satisfy vlm-stream's own
// references and are never exported, so the FFmpeg libraries, which call each other, still bind to each other.
//
// A function that VLMVideo starts to call must be added to CFFMPEG_FUNCTIONS, or the link fails with an undefined
// symbol.

#include "ffmpeg_loader.h"

#include <libavcodec/avcodec.h>
#include <libavdevice/version.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __APPLE__
#define CFFMPEG_SONAME(name, major) "lib" name "." AV_STRINGIFY(major) ".dylib"
#else
#define CFFMPEG_SONAME(name, major) "lib" name ".so." AV_STRINGIFY(major)
#endif

enum { AVUTIL, SWSCALE, AVCODEC, AVFORMAT, LIBRARY_COUNT };

/// In dependency order: each library's own dependencies are loaded before it.
static const char *const library_names[LIBRARY_COUNT] = {
    CFFMPEG_SONAME("avutil", LIBAVUTIL_VERSION_MAJOR),
    CFFMPEG_SONAME("swscale", LIBSWSCALE_VERSION_MAJOR),
    CFFMPEG_SONAME("avcodec", LIBAVCODEC_VERSION_MAJOR),
    CFFMPEG_SONAME("avformat", LIBAVFORMAT_VERSION_MAJOR),
};

/// Every FFmpeg function VLMVideo calls: X(library, return type, name, parameters, arguments). VOID for the
/// functions that return nothing (C may not return a void expression), VALUE for the others.
#define CFFMPEG_FUNCTIONS(VALUE, VOID)                                                                                 \
    /* libavutil */                                                                                                    \
    VOID(AVUTIL, void, av_dict_free, (AVDictionary **m), (m))                                                          \
    VALUE(AVUTIL, AVDictionaryEntry *, av_dict_get,                                                                    \
        (const AVDictionary *m, const char *key, const AVDictionaryEntry *prev, int flags),                            \
        (m, key, prev, flags))                                                                                         \
    VALUE(AVUTIL, int, av_dict_set,                                                                                    \
        (AVDictionary **pm, const char *key, const char *value, int flags),                                            \
        (pm, key, value, flags))                                                                                       \
    VALUE(AVUTIL, AVFrame *, av_frame_alloc, (void), ())                                                               \
    VALUE(AVUTIL, int, av_frame_apply_cropping, (AVFrame *frame, int flags), (frame, flags))                           \
    VOID(AVUTIL, void, av_frame_free, (AVFrame **frame), (frame))                                                      \
    VALUE(AVUTIL, int, av_frame_get_buffer, (AVFrame *frame, int align), (frame, align))                               \
    VALUE(AVUTIL, AVFrameSideData *, av_frame_get_side_data,                                                           \
        (const AVFrame *frame, enum AVFrameSideDataType type),                                                         \
        (frame, type))                                                                                                 \
    VOID(AVUTIL, void, av_frame_move_ref, (AVFrame *dst, AVFrame *src), (dst, src))                                    \
    VALUE(AVUTIL, int, av_frame_ref, (AVFrame *dst, const AVFrame *src), (dst, src))                                   \
    VOID(AVUTIL, void, av_frame_unref, (AVFrame *frame), (frame))                                                      \
    VOID(AVUTIL, void, av_free, (void *ptr), (ptr))                                                                    \
    VOID(AVUTIL, void, av_freep, (void *ptr), (ptr))                                                                   \
    VALUE(AVUTIL, const char *, av_get_pix_fmt_name, (enum AVPixelFormat pix_fmt), (pix_fmt))                          \
    VALUE(AVUTIL, int, av_image_fill_linesizes,                                                                        \
        (int linesizes[4], enum AVPixelFormat pix_fmt, int width),                                                     \
        (linesizes, pix_fmt, width))                                                                                   \
    VALUE(AVUTIL, int, av_log_format_line2,                                                                            \
        (void *ptr, int level, const char *fmt, va_list vl, char *line, int line_size, int *print_prefix),             \
        (ptr, level, fmt, vl, line, line_size, print_prefix))                                                          \
    VOID(AVUTIL, void, av_log_set_callback, (void (*callback)(void*, int, const char*, va_list)), (callback))          \
    VOID(AVUTIL, void, av_log_set_level, (int level), (level))                                                         \
    VALUE(AVUTIL, void *, av_malloc, (size_t size), (size))                                                            \
    VOID(AVUTIL, void, av_max_alloc, (size_t max), (max))                                                              \
    VALUE(AVUTIL, const AVPixFmtDescriptor *, av_pix_fmt_desc_get, (enum AVPixelFormat pix_fmt), (pix_fmt))            \
    VALUE(AVUTIL, int64_t, av_rescale_q, (int64_t a, AVRational bq, AVRational cq), (a, bq, cq))                       \
    VALUE(AVUTIL, int, av_strerror, (int errnum, char *errbuf, size_t errbuf_size), (errnum, errbuf, errbuf_size))     \
    /* libswscale */                                                                                                   \
    VOID(SWSCALE, void, sws_freeContext, (struct SwsContext *swsContext), (swsContext))                                \
    VALUE(SWSCALE, const int *, sws_getCoefficients, (int colorspace), (colorspace))                                   \
    VALUE(SWSCALE, struct SwsContext *, sws_getContext,                                                                \
        (int srcW, int srcH, enum AVPixelFormat srcFormat, int dstW, int dstH, enum AVPixelFormat dstFormat,           \
         int flags, SwsFilter *srcFilter, SwsFilter *dstFilter, const double *param),                                  \
        (srcW, srcH, srcFormat, dstW, dstH, dstFormat, flags, srcFilter, dstFilter, param))                            \
    VALUE(SWSCALE, int, sws_scale,                                                                                     \
        (struct SwsContext *c, const uint8_t *const srcSlice[], const int srcStride[], int srcSliceY,                  \
         int srcSliceH, uint8_t *const dst[], const int dstStride[]),                                                  \
        (c, srcSlice, srcStride, srcSliceY, srcSliceH, dst, dstStride))                                                \
    VALUE(SWSCALE, int, sws_setColorspaceDetails,                                                                      \
        (struct SwsContext *c, const int inv_table[4], int srcRange, const int table[4], int dstRange,                 \
         int brightness, int contrast, int saturation),                                                                \
        (c, inv_table, srcRange, table, dstRange, brightness, contrast, saturation))                                   \
    /* libavcodec */                                                                                                   \
    VALUE(AVCODEC, AVPacket *, av_packet_alloc, (void), ())                                                            \
    VOID(AVCODEC, void, av_packet_free, (AVPacket **pkt), (pkt))                                                       \
    VOID(AVCODEC, void, av_packet_rescale_ts,                                                                          \
        (AVPacket *pkt, AVRational tb_src, AVRational tb_dst),                                                         \
        (pkt, tb_src, tb_dst))                                                                                         \
    VOID(AVCODEC, void, av_packet_unref, (AVPacket *pkt), (pkt))                                                       \
    VALUE(AVCODEC, AVCodecContext *, avcodec_alloc_context3, (const AVCodec *codec), (codec))                          \
    VALUE(AVCODEC, const AVCodec *, avcodec_find_decoder, (enum AVCodecID id), (id))                                   \
    VALUE(AVCODEC, const AVCodec *, avcodec_find_encoder, (enum AVCodecID id), (id))                                   \
    VOID(AVCODEC, void, avcodec_flush_buffers, (AVCodecContext *avctx), (avctx))                                       \
    VOID(AVCODEC, void, avcodec_free_context, (AVCodecContext **avctx), (avctx))                                       \
    VALUE(AVCODEC, const char *, avcodec_get_name, (enum AVCodecID id), (id))                                          \
    VALUE(AVCODEC, int, avcodec_open2,                                                                                 \
        (AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options),                                         \
        (avctx, codec, options))                                                                                       \
    VALUE(AVCODEC, int, avcodec_parameters_copy, (AVCodecParameters *dst, const AVCodecParameters *src), (dst, src))   \
    VALUE(AVCODEC, int, avcodec_parameters_to_context,                                                                 \
        (AVCodecContext *codec, const AVCodecParameters *par),                                                         \
        (codec, par))                                                                                                  \
    VALUE(AVCODEC, int, avcodec_receive_frame, (AVCodecContext *avctx, AVFrame *frame), (avctx, frame))                \
    VALUE(AVCODEC, int, avcodec_receive_packet, (AVCodecContext *avctx, AVPacket *avpkt), (avctx, avpkt))              \
    VALUE(AVCODEC, int, avcodec_send_frame, (AVCodecContext *avctx, const AVFrame *frame), (avctx, frame))             \
    VALUE(AVCODEC, int, avcodec_send_packet, (AVCodecContext *avctx, const AVPacket *avpkt), (avctx, avpkt))           \
    /* libavformat */                                                                                                  \
    VALUE(AVFORMAT, int, av_find_best_stream,                                                                          \
        (AVFormatContext *ic, enum AVMediaType type, int wanted_stream_nb, int related_stream,                         \
         const AVCodec **decoder_ret, int flags),                                                                      \
        (ic, type, wanted_stream_nb, related_stream, decoder_ret, flags))                                              \
    VALUE(AVFORMAT, const AVInputFormat *, av_find_input_format, (const char *short_name), (short_name))               \
    VALUE(AVFORMAT, AVRational, av_guess_frame_rate,                                                                   \
        (AVFormatContext *ctx, AVStream *stream, AVFrame *frame),                                                      \
        (ctx, stream, frame))                                                                                          \
    VALUE(AVFORMAT, int, av_interleaved_write_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))                    \
    VALUE(AVFORMAT, int, av_read_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))                                 \
    VALUE(AVFORMAT, int, av_seek_frame,                                                                                \
        (AVFormatContext *s, int stream_index, int64_t timestamp, int flags),                                          \
        (s, stream_index, timestamp, flags))                                                                           \
    VALUE(AVFORMAT, uint8_t *, av_stream_get_side_data,                                                                \
        (const AVStream *stream, enum AVPacketSideDataType type, size_t *size),                                        \
        (stream, type, size))                                                                                          \
    VALUE(AVFORMAT, uint8_t *, av_stream_new_side_data,                                                                \
        (AVStream *stream, enum AVPacketSideDataType type, size_t size),                                               \
        (stream, type, size))                                                                                          \
    VALUE(AVFORMAT, int, av_write_trailer, (AVFormatContext *s), (s))                                                  \
    VALUE(AVFORMAT, AVFormatContext *, avformat_alloc_context, (void), ())                                             \
    VALUE(AVFORMAT, int, avformat_alloc_output_context2,                                                               \
        (AVFormatContext **ctx, const AVOutputFormat *oformat, const char *format_name, const char *filename),         \
        (ctx, oformat, format_name, filename))                                                                         \
    VOID(AVFORMAT, void, avformat_close_input, (AVFormatContext **s), (s))                                             \
    VALUE(AVFORMAT, int, avformat_find_stream_info, (AVFormatContext *ic, AVDictionary **options), (ic, options))      \
    VOID(AVFORMAT, void, avformat_free_context, (AVFormatContext *s), (s))                                             \
    VALUE(AVFORMAT, AVStream *, avformat_new_stream, (AVFormatContext *s, const AVCodec *c), (s, c))                   \
    VALUE(AVFORMAT, int, avformat_open_input,                                                                          \
        (AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options),                     \
        (ps, url, fmt, options))                                                                                       \
    VALUE(AVFORMAT, int, avformat_query_codec,                                                                         \
        (const AVOutputFormat *ofmt, enum AVCodecID codec_id, int std_compliance),                                     \
        (ofmt, codec_id, std_compliance))                                                                              \
    VALUE(AVFORMAT, int, avformat_write_header, (AVFormatContext *s, AVDictionary **options), (s, options))            \
    VALUE(AVFORMAT, AVIOContext *, avio_alloc_context,                                                                 \
        (unsigned char *buffer, int buffer_size, int write_flag, void *opaque,                                         \
         int (*read_packet)(void *opaque, uint8_t *buf, int buf_size),                                                 \
         int (*write_packet)(void *opaque, uint8_t *buf, int buf_size),                                                \
         int64_t (*seek)(void *opaque, int64_t offset, int whence)),                                                   \
        (buffer, buffer_size, write_flag, opaque, read_packet, write_packet, seek))                                    \
    VALUE(AVFORMAT, int, avio_closep, (AVIOContext **s), (s))                                                          \
    VOID(AVFORMAT, void, avio_context_free, (AVIOContext **s), (s))                                                    \
    VALUE(AVFORMAT, int, avio_open, (AVIOContext **s, const char *url, int flags), (s, url, flags))

// One pointer per function, typed by FFmpeg's own declaration.
#define DECLARE_POINTER(library, type, name, parameters, arguments) static __typeof__(name) *resolved_##name;
CFFMPEG_FUNCTIONS(DECLARE_POINTER, DECLARE_POINTER)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char load_message[512] = "";

static void load_libraries(void) {
    void *libraries[LIBRARY_COUNT];
    for (int i = 0; i < LIBRARY_COUNT; i++) {
        libraries[i] = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
        if (!libraries[i]) {
            const char *reason = dlerror();
            snprintf(load_message, sizeof load_message, "%s", reason ? reason : library_names[i]);
            return;
        }
    }
#define RESOLVE(library, type, name, parameters, arguments)                                                            \
    resolved_##name = (__typeof__(name) *)dlsym(libraries[library], #name);                                            \
    if (!resolved_##name) {                                                                                            \
        snprintf(load_message, sizeof load_message, "%s has no function %s", library_names[library], #name);           \
        return;                                                                                                        \
    }
    CFFMPEG_FUNCTIONS(RESOLVE, RESOLVE)
#undef RESOLVE
    load_status = 0;
}

int cffmpeg_load(void) {
    pthread_once(&load_once, load_libraries);
    return load_status;
}

const char *cffmpeg_load_error(void) {
    pthread_once(&load_once, load_libraries);
    return load_message;
}

/// Loads FFmpeg if nothing has yet. VLMVideo's entry points load it before their first call and report a failure
/// as one line, so a failure here is a call that skipped them: there is no function to call, and the process stops
/// with the reason.
static inline void require_loaded(const char *function) {
    if (cffmpeg_load() != 0) {
        fprintf(stderr, "vlm-stream: %s called without FFmpeg: %s\n", function, load_message);
        abort();
    }
}

#define DEFINE_VALUE(library, type, name, parameters, arguments)                                                       \
    __attribute__((visibility("hidden"))) type name parameters {                                                       \
        require_loaded(#name);                                                                                         \
        return resolved_##name arguments;                                                                              \
    }
#define DEFINE_VOID(library, type, name, parameters, arguments)                                                        \
    __attribute__((visibility("hidden"))) type name parameters {                                                       \
        require_loaded(#name);                                                                                         \
        resolved_##name arguments;                                                                                     \
    }
CFFMPEG_FUNCTIONS(DEFINE_VALUE, DEFINE_VOID)

const char *cffmpeg_register_devices(void) {
    static char message[512];
    const char *name = CFFMPEG_SONAME("avdevice", LIBAVDEVICE_VERSION_MAJOR);
    void *library = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    void (*register_all)(void) = library ? (void (*)(void))dlsym(library, "avdevice_register_all") : NULL;
    if (!register_all) {
        const char *reason = dlerror();
        snprintf(message, sizeof message, "%s", reason ? reason : name);
        return message;
    }
    register_all();
    return NULL;
}
