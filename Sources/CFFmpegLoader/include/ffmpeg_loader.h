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

/// Loads libavdevice (V4L2 cameras) and registers its input devices, after `cffmpeg_load()`. libavdevice links about
/// a hundred more shared libraries (SDL, PulseAudio, X11, OpenGL, JACK…), about 20 MB resident, so it is loaded only
/// when a camera is opened. Returns NULL, or why it could not be loaded. Not thread-safe: call it once.
const char *cffmpeg_register_devices(void);

#endif
