// CLIP: see the module's files.
