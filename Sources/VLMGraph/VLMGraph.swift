/// VLMGraph: the stage graph that carries frames from sources to results. It knows frames, embeddings and
/// results (VLMCore), not models, video or brokers: `VLMPipeline` composes those into a graph.
///
/// Every stage runs on its own Dispatch queue; stages are joined by bounded queues, each with a declared policy.
///
/// ```
///   source A (VLMVideo: decode → sample → swscale to 224² views + luma)      source B …
///        │ decode thread                                                       │
///        ▼                                                                     ▼
///   [BoundedQueue  files: block · live: keep-latest / drop-oldest]      [BoundedQueue …]
///        │ gate thread                                                         │
///        ▼                                                                     ▼
///   FrameGate: unchanged scene? → mark "reuse" (skips the encoder)       FrameGate …
///        │
///        ▼
///   FlowLimiter (N frames in flight; live: drop when full, files: wait)  ◄── shared by all sources
///        │ ticket per stream (0, 1, 2…)                                   ▲
///        ▼                                                                │ release after encode
///   [encode queue: block] ──► Batcher (≤ B images, or 50 ms when live) ──►│
///        ▼                                                                │
///   encoder worker 1 … k  (ImageEncoding: CLIP ViT, own kernels) ─────────┘
///        │
///        ▼
///   [results queue: block]
///        │ results thread: per-stream reorder by ticket (pts order), reused embeddings filled in
///        ▼
///   FrameAnalyzer… (matcher: scores/events, labels, captions)
///        │
///        ▼
///   ResultSink… (terminal, JSON Lines, MQTT, SRT/VTT)  — finish() once on drain
/// ```
///
/// `StageGraph` is the graph. `PipelineMetrics` counts frames in/out, drops, queue depths and latencies per stage.
/// In VLMPipeline, `PipelineSpec` describes a deployment (from a pipeline YAML file or the command line) and
/// `PipelineBuilder` turns a spec into a graph with real sources, model and sinks.
public enum VLMGraphModule {}
