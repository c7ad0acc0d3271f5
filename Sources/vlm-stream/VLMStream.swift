import ArgumentParser

/// `vlm-stream`: streaming video scene understanding with CLIP.
@main
struct VLMStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlm-stream",
        abstract: "Streaming video and robotics scene understanding with CLIP.",
        subcommands: [
            RunCommand.self,
            EmbedCommand.self, TokenizeCommand.self, ModelsCommand.self, ProbeCommand.self, IndexCommand.self,
            SearchCommand.self, BenchCommand.self, CaptionsCommand.self, CaptionCommand.self, AskCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}
