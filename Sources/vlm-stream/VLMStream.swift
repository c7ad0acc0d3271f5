import ArgumentParser
import Foundation

/// `vlm-stream`: streaming video scene understanding with CLIP.
@main
struct VLMStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlm-stream",
        abstract: "Streaming video and robotics scene understanding with CLIP.",
        subcommands: [
            RunCommand.self,
            EmbedCommand.self, TokenizeCommand.self, ModelsCommand.self, ProbeCommand.self, IndexCommand.self,
            WorkerCommand.self,
            JobsCommand.self,
            SearchCommand.self, ServeCommand.self, TuneCommand.self, BenchCommand.self, CaptionsCommand.self,
            CaptionCommand.self,
            AskCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )

    /// Refuses a misspelled subcommand before `run` takes it for an input file, then parses as usual.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        if let first = arguments.first, let suggestion = SubcommandSuggestion.suggest(for: first, among: names) {
            FileHandle.standardError.write(
                Data("error: no such file or subcommand '\(first)'; did you mean '\(suggestion)'?\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        await main(arguments)
    }
}
