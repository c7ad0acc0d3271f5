#ifndef CFFMPEG_LOADER_H
#define CFFMPEG_LOADER_H

/// Loads libavutil, libswscale, libavcodec and libavformat, the versions whose headers vlm-stream was built with,
/// and resolves every FFmpeg function that VLMVideo calls. It runs once per process; later calls return the first
/// result. Returns 0, or -1 with the reason in `cffmpeg_load_error()`.
///
/// FFmpeg is loaded on first use rather than linked: Debian's libavcodec pulls in about 110 more shared libraries
/// (encoders, TLS, SVG, X11…), 17 MB resident in every process, and most commands (`search`, `embed text`,
/// `bench encoder`, `models`…) never decode a picture.
int cffmpeg_load(void);

/// Why `cffmpeg_load()` failed ("" when it did not).
const char *cffmpeg_load_error(void);

#endif
