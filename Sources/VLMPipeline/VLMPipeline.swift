/// VLMPipeline: builds a running system from a `PipelineSpec`.
///
/// The spec (a pipeline YAML file, or the command line's flags applied to one) names sources, the model, queries,
/// analyzers and outputs; `PipelineBuilder` opens VLMVideo sources, loads the CLIP model, makes VLMMatch's and
/// VLMCaption's analyzers and the sinks, and hands them to VLMGraph's `StageGraph`. `PipelineApplication` runs
/// it with MQTT and the HTTP server (VLMServe's `LiveServer`: the Live page and Prometheus `/metrics`) as services.
public enum VLMPipelineModule {}
