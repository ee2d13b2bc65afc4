/// A POSIX sh script that runs on a host. Its text is a file of its own (Sources/TARGET/Scripts/
/// NAME.sh), embedded into the binary at build time (SwiftPM's `.embedInCode`: the static release
/// binary carries it, there is no resource bundle to ship beside it) and checked by shellcheck
/// (`scripts/lint`, run by `scripts/test`).
///
/// It runs as `sh -c TEXT swock-NAME ARG...`: the values it works on are only ever its positional
/// parameters, each one word quoted by `ShellQuote`, never part of its text.
public struct RemoteScript: Sendable, Equatable {
    /// `$0` inside the script (the name sh puts in front of its own error messages).
    public let name: String
    public let text: String

    /// `file`: the script file's base name without `.sh`; `bytes`: its embedded contents
    /// (`PackageResources.NAME_sh`).
    public init(_ file: String, _ bytes: [UInt8]) {
        name = "swock-" + file
        text = String(decoding: bytes, as: UTF8.self)
    }

    /// The command line (for the login shell, or `sudo sh -c`) that runs the script with `arguments`.
    public func command(_ arguments: [String]) -> String {
        ShellQuote.join(["sh", "-c", text, name] + arguments)
    }

    public func command(_ arguments: String...) -> String { command(arguments) }

    /// A command line that runs a script, shortened for messages and logs: `swock-NAME ARG...`
    /// instead of the script's text. Nil for any other command line.
    public static func summary(of commandLine: String) -> String? {
        guard commandLine.hasPrefix("sh -c '") else { return nil }
        // Skip the quoted text: '...' with every ' inside written as '\''.
        var rest = commandLine.dropFirst("sh -c '".count)
        while let end = rest.firstIndex(of: "'") {
            let after = rest[rest.index(after: end)...]
            if after.hasPrefix("\\''") {
                rest = after.dropFirst(3)
                continue
            }
            let tail = after.drop { $0 == " " }
            return tail.hasPrefix("swock-") ? String(tail) : nil
        }
        return nil
    }
}
