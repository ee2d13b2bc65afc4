import ArgumentParser
import EngineAPI
import Foundation
import SwockSupport

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
    /// AsyncParsableCommand's `main`, with help pages printed EXAMPLES last. The verbs that read
    /// one record and print take the lean path (`LeanCommandLine`) when their arguments are plain.
    public static func mainWithExamplesLast() async {
        TLSRuntime.keepOpenSSLAtExit()
        if let request = LeanCommandLine.parse(Array(CommandLine.arguments.dropFirst())) {
            do {
                try await request.run()
                return
            } catch {
                Output.err("Error: \(error)")
                Foundation.exit(1)
            }
        }
        if let help = await CreateDriverHelp.page(Array(CommandLine.arguments.dropFirst())) {
            if help.failed { Output.err(help.text) } else { Output.out(help.text) }
            Foundation.exit(help.failed ? 1 : 0)
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // What ArgumentParser's `exit(withError:)` would print, written through
            // `StandardStreams` (it prints with stdio, out of reach of a closed-pipe check). A help
            // request (--help, -h, `help CMD`) is an error that exits 0 with the page.
            let message = fullMessage(for: error)
            let code = exitCode(for: error)
            if code == .success {
                if message.hasPrefix("OVERVIEW: ") || message.hasPrefix("USAGE: ") {
                    Output.out(Help.examplesLast(message))
                } else if !message.isEmpty {
                    Output.out(message + "\n")
                }
            } else if !message.isEmpty {
                Output.err(message)
            }
            Foundation.exit(code.rawValue)
        }
    }
}
