// VLMPipeline: see the module's files.
