import ArgumentParser

struct Completion: ParsableCommand {
    enum Shell: String, CaseIterable, ExpressibleByArgument {
        case bash, zsh, fish
    }

    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print a shell completion script: commands and flags, and machine names from the store.",
        discussion: Help.discussion(
            "Machine names are read from the store when you press Tab, so they are always current.",
            examples: [
                "source <(swock-machine completion bash)",
                "swock-machine completion zsh > \"${fpath[1]}/_swock-machine\"",
                "swock-machine completion fish > ~/.config/fish/completions/swock-machine.fish",
            ]))

    @Argument(help: "bash, zsh or fish.")
    var shell: Shell

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell.rawValue) else { throw UsageError("no completion script for \(shell.rawValue)") }
        Output.out(SwockMachine.completionScript(for: kind))
    }
}
