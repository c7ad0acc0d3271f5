// VLMMatch: see the module's files.
