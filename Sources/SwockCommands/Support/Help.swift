import ArgumentParser
import EngineAPI

/// Help text shared by the commands.
public enum Help {
    /// A command's discussion, ending with an EXAMPLES block: one real invocation a line.
    /// ArgumentParser prints the discussion above USAGE; `examplesLast` moves the block to the
    /// end of the help, where a reader looks for examples (as in man pages and `git help`).
    static func discussion(_ text: String = "", examples: [String]) -> String {
        let block = "EXAMPLES:\n" + examples.map { "  " + $0 }.joined(separator: "\n")
        return text.isEmpty ? block : text + "\n\n" + block
    }

    /// `text` (a rendered help page) with its EXAMPLES block, the heading and the lines under
    /// it up to the next blank line (a narrow terminal wraps long examples), moved to the end.
    /// A page without one comes back unchanged.
    public static func examplesLast(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "EXAMPLES:") else { return text }
        var end = start + 1
        while end < lines.count, !lines[end].isEmpty { end += 1 }
        let block = Array(lines[start..<end])
        // The blank line that separated the block from what follows goes with it.
        if end < lines.count, lines[end].isEmpty { end += 1 }
        lines.removeSubrange(start..<end)
        while lines.last == "" { lines.removeLast() }
        return (lines + [""] + block).joined(separator: "\n") + "\n"
    }
}

extension SwockMachine {
    /// The verbs that read one record and print (`env`, `active`, `ip`, `url`, `config`):
    /// parsed as that command alone. The root parse builds the whole command tree, and the
    /// dynamic casts it does for every subcommand's name cost about a third of such a run. Any
    /// parse error or help request goes back to the root parse, which reports it as usual.
    static let leanVerbs: [String: any AsyncParsableCommand.Type] = [
        "env": Env.self, "active": Active.self, "ip": IP.self, "url": URLCommand.self, "config": Config.self,
    ]

    /// AsyncParsableCommand's `main`, with help pages printed EXAMPLES last.
    public static func mainWithExamplesLast() async {
        TLSRuntime.keepOpenSSLAtExit()
        let args = Array(CommandLine.arguments.dropFirst())
        if let verb = args.first, let lean = leanVerbs[verb],
           !args.contains(where: { $0 == "-h" || $0 == "--help" || $0.hasPrefix("--generate-completion") }),
           var command = try? lean.parseAsRoot(Array(args.dropFirst())) as? AsyncParsableCommand {
            do {
                try await command.run()
                return
            } catch {
                exit(withError: error)
            }
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // A help request (--help, -h, `help CMD`) is an error that exits 0 with the page.
            let message = fullMessage(for: error)
            if exitCode(for: error) == .success, message.hasPrefix("OVERVIEW: ") || message.hasPrefix("USAGE: ") {
                print(Help.examplesLast(message), terminator: "")
                exit(withError: ExitCode.success)
            }
            exit(withError: error)
        }
    }
}
