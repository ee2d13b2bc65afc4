import Foundation
import Testing

/// Advice that names swock-machine's commands or flags is made only in SwockCommands (from the
/// error codes and cases, `ErrorReport`): a string literal in any lower target that names one of
/// the CLI's flags (`--generic-ssh-key`) or `swock-machine VERB` fails this test. The CLI's words
/// are read from SwockCommands itself (`commandName:`, `customLong(...)`, `@Option`/`@Flag`
/// properties), so a new flag is covered the day it is added.
struct CommandWordsTests {
    /// Literals not yet moved up, by file and word. This list may only shrink: each entry is
    /// a message still worded in a lower layer (see the error-model note for the plan).
    static let notYetMoved: Set<String> = [
        // dockerd's own --label flag, written into the daemon's command line: not ours.
        "Sources/SwockEngine/EngineConfigRenderer.swift: --label",
        // qemu-img's own --output flag, in the command line the qemu driver runs: not ours.
        "Sources/SwockDrivers/Qemu/QemuTools.swift: --output",
        // The command line a command starts its own connection keeper with (this binary's own
        // flags, the same store): not advice.
        "Sources/SwockRemote/KeeperClient.swift: --persist",
        "Sources/SwockRemote/KeeperClient.swift: --storage-path",
        // The header written into the host's files, read there by its administrator.
        "Sources/SwockEngine/InitSystem.swift: swock-machine rm",
        // A driver declares its own flags (DriverFlag) and names them when one is missing.
        "Sources/SwockDrivers/GenericDriver.swift: --generic-ip-address",
        "Sources/SwockDrivers/NoneDriver.swift: --tls-ca-cert",
        "Sources/SwockDrivers/NoneDriver.swift: --tls-client-cert",
        "Sources/SwockDrivers/NoneDriver.swift: --tls-client-key",
    ]

    /// Targets allowed to word the command line.
    static let commandLineTargets: Set<String> = ["SwockCommands", "swock-machine"]

    @Test func lowerTargetsNameNoCommandOrFlag() throws {
        let words = try CommandWords.ofTheCLI()
        #expect(words.verbs.contains("provision") && words.flags.contains("generic-ssh-key"), "the CLI's words were not found: \(words)")
        var problems: [String] = []
        var used: Set<String> = []
        for target in try Manifest.load().targets
        where target.path.hasPrefix("Sources/") && !Self.commandLineTargets.contains(target.name) {
            for file in try Repo.swiftFiles(under: Repo.root + "/" + target.path) {
                let relative = String(file.dropFirst(Repo.root.count + 1))
                for (line, literal) in CommandWords.literals(in: try String(contentsOfFile: file, encoding: .utf8)) {
                    for word in words.named(in: literal) {
                        let key = "\(relative): \(word)"
                        if Self.notYetMoved.contains(key) { used.insert(key); continue }
                        problems.append(
                            "\(relative):\(line) names \(word) (\"\(literal.prefix(100))\"): word it in SwockCommands from the error's code"
                        )
                    }
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let stale = Self.notYetMoved.subtracting(used).sorted()
        #expect(stale.isEmpty, "moved up: drop these from notYetMoved: \(stale)")
    }

    // The check itself: each part catches what it is for.

    @Test func literalsAreFoundAndCommentsAreNot() {
        let text = #"""
            // run `swock-machine rm x` in a comment is fine
            let a = "pass --generic-ssh-key \(k.map { "--x" } ?? "")"
            let b = """
                multi --rename line
                """
            """#
        let found = CommandWords.literals(in: text).map(\.text)
        #expect(found.count == 2, "\(found)")
        #expect(found.first?.contains("--generic-ssh-key") == true)
        #expect(found.last?.contains("--rename") == true)
    }

    @Test func onlyTheCLIsWordsCount() {
        let words = CommandWords(verbs: ["rm", "provision"], flags: ["generic-ssh-key", "all"])
        #expect(
            words.named(in: "run `swock-machine provision web1`; pass --generic-ssh-key or --all") == [
                "--generic-ssh-key", "--all", "swock-machine provision",
            ])
        #expect(words.named(in: "dpkg --configure -a; systemctl --no-pager; upgrade swock-machine") == [])
        #expect(words.named(in: "--all-the-things x--all") == [])
        #expect(words.named(in: "no passphrase was given (--generic-ssh-key-passphrase)") == ["--generic-ssh-key-passphrase"])
        #expect(words.named(in: "dockerd --tlsverify --tlscacert=/x") == [])
    }
}

/// swock-machine's verbs and long flags, and where a text names them.
struct CommandWords: Sendable {
    var verbs: Set<String>
    var flags: Set<String>

    /// Read from Sources/SwockCommands.
    static func ofTheCLI() throws -> CommandWords {
        var verbs: Set<String> = [], flags: Set<String> = []
        for file in try Repo.swiftFiles(under: Repo.root + "/Sources/SwockCommands") {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            verbs.formUnion(matches(#"commandName: "([a-z-]+)""#, in: text))
            flags.formUnion(matches(#"customLong\("([a-z0-9-]+)""#, in: text))
            // An option or flag without a custom name: its property's name in kebab case.
            for declaration in matches(#"@(?:Option|Flag)\b((?:(?!\bvar\b)[\s\S])*?\bvar \w+)"#, in: text)
            where !declaration.contains("customLong") {
                guard let name = declaration.split(separator: " ").last else { continue }
                flags.insert(name.reduce(into: "") { out, c in out += c.isUppercase ? "-" + c.lowercased() : String(c) })
            }
        }
        verbs.remove("swock-machine")
        return CommandWords(verbs: verbs, flags: flags)
    }

    /// Prefixes of the CLI's flag families: a flag in one of them counts even when the CLI has
    /// no such flag (SSHKit once told users to pass a --generic-ssh-key-passphrase that never was).
    static let flagFamilies = ["generic-", "engine-", "ssh-", "tls-", "swarm-", "passphrase-"]

    /// The CLI words `text` names, in order: `--flag` (one of ours or of our flag families, not
    /// part of a longer word) and `swock-machine VERB`.
    func named(in text: String) -> [String] {
        let flagHits = Self.matches(#"(?<![A-Za-z0-9-])--([a-z][a-z0-9-]*)"#, in: text)
            .filter { w in flags.contains(w) || Self.flagFamilies.contains { w.hasPrefix($0) } }.map { "--" + $0 }
        let verbHits = Self.matches(#"swock-machine ([a-z][a-z-]*)"#, in: text).filter(verbs.contains).map { "swock-machine " + $0 }
        return flagHits + verbHits
    }

    static func matches(_ pattern: String, in text: String) -> [String] {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).compactMap { m in
            m.range(at: 1).location == NSNotFound ? nil : ns.substring(with: m.range(at: 1))
        }
    }

    /// The string literals of Swift source, with their line: "..." (interpolations included as
    /// text) and """...""" blocks; comments skipped.
    static func literals(in source: String) -> [(line: Int, text: String)] {
        let s = Array(source.unicodeScalars)
        var out: [(Int, String)] = []
        var i = 0, line = 1
        func at(_ k: Int, _ p: String) -> Bool {
            let u = Array(p.unicodeScalars)
            return k + u.count <= s.count && Array(s[k..<k + u.count]) == u
        }
        while i < s.count {
            if s[i] == "\n" { line += 1; i += 1; continue }
            if at(i, "//") {
                while i < s.count && s[i] != "\n" { i += 1 }
                continue
            }
            if at(i, "/*") {
                i += 2
                while i < s.count && !at(i, "*/") { if s[i] == "\n" { line += 1 }; i += 1 }
                i += 2
                continue
            }
            if at(i, "\"\"\"") {
                let start = line
                var text = String.UnicodeScalarView()
                i += 3
                while i < s.count && !at(i, "\"\"\"") { if s[i] == "\n" { line += 1 }; text.append(s[i]); i += 1 }
                i += 3
                out.append((start, String(text)))
                continue
            }
            if s[i] == "\"" {
                var text = String.UnicodeScalarView()
                var depth = 0
                i += 1
                while i < s.count && s[i] != "\n" {
                    if s[i] == "\\" && i + 1 < s.count {
                        if s[i + 1] == "(" { depth += 1 }
                        text.append(s[i]); text.append(s[i + 1]); i += 2
                        continue
                    }
                    if depth > 0 {
                        if s[i] == "(" { depth += 1 } else if s[i] == ")" { depth -= 1 }
                        text.append(s[i]); i += 1
                        continue
                    }
                    if s[i] == "\"" { break }
                    text.append(s[i]); i += 1
                }
                i += 1
                out.append((line, String(text)))
                continue
            }
            i += 1
        }
        return out
    }
}
