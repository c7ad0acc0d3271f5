// VLMCaption: see the module's files.
