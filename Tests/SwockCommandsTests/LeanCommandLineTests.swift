import ArgumentParser
import Testing

@testable import SwockCommands

/// The hand parser of the record-only verbs must agree with ArgumentParser wherever it takes a
/// command line, and hand everything else to it.
struct LeanCommandLineTests {
    /// ArgumentParser's reading of `argv` (verb first) as a request, or nil when it refuses it.
    static func full(_ argv: [String]) -> (any LeanRequest)? {
        let rest = Array(argv.dropFirst())
        switch argv[0] {
        case "env": return (try? Env.parse(rest))?.request
        case "active": return (try? Active.parse(rest))?.request
        case "ip": return (try? IP.parse(rest))?.request
        case "url": return (try? URLCommand.parse(rest))?.request
        case "config": return (try? Config.parse(rest))?.request
        default: return nil
        }
    }

    static func same(_ a: any LeanRequest, _ b: any LeanRequest) -> Bool {
        switch (a, b) {
        case let (x as EnvRequest, y as EnvRequest): x == y
        case let (x as ActiveRequest, y as ActiveRequest): x == y
        case let (x as IPRequest, y as IPRequest): x == y
        case let (x as URLCommandRequest, y as URLCommandRequest): x == y
        case let (x as ConfigRequest, y as ConfigRequest): x == y
        default: false
        }
    }

    @Test(arguments: [
        ["env", "web1"], ["env"], ["env", "--shell", "fish", "web1"], ["env", "web1", "--shell=nu"],
        ["env", "--unset"], ["env", "-u"], ["env", "-u", "web1"], ["env", "--unset", "--no-proxy", "--shell", "tcsh"],
        ["env", "--check", "--swarm", "m2"],
        ["env", "-s", "/tmp/a store", "web1"], ["env", "--storage-path=/x", "-D", "web1"], ["env", "--storage-path", "/x", "--debug"],
        ["active"], ["active", "-s", "/x"], ["active", "--debug"],
        ["ip"], ["ip", "a"], ["ip", "a", "b", "c"], ["ip", "-s", "/x", "a", "b"],
        ["url"], ["url", "web1"], ["url", "--check", "web1"], ["url", "web1", "-D"],
        ["config"], ["config", "web1"], ["config", "-s", "/x", "web1"],
    ])
    func plainCommandLinesTakeTheLeanPathAndAgree(argv: [String]) throws {
        let lean = try #require(LeanCommandLine.parse(argv), "\(argv) should take the lean path")
        let full = try #require(Self.full(argv), "ArgumentParser refuses \(argv)")
        #expect(Self.same(lean, full), "\(argv): lean \(lean) vs ArgumentParser \(full)")
    }

    @Test(arguments: [
        ["env", "--help"], ["env", "-h"], ["env", "a", "b"], ["env", "--shell"], ["env", "--shell", "klingon", "a"],
        ["env", "--shell", "fish", "--shell", "bash"], ["env", "--bogus"], ["env", "--", "a"], ["env", "-s"],
        ["env", "-s", "/a", "-s", "/b"], ["env", "--unset", "--unset"], ["env", "-u", "--unset"],
        ["active", "web1"], ["ip", "--check"], ["ip", "-x"], ["url", "a", "b"], ["url", "--help"], ["config", "a", "b"],
        ["config", "--check"], ["ls"], ["create", "x"], ["help", "env"], ["--version", "--help"],
        ["env", "--version"],
    ])
    func everythingElseGoesToTheFullParser(argv: [String]) {
        #expect(LeanCommandLine.parse(argv) == nil, "\(argv) should go to ArgumentParser")
    }
}

/// `--version` alone is answered without ArgumentParser, with the text it would print.
struct LeanVersionTests {
    @Test func theVersionFlagPrintsWhatArgumentParserPrints() throws {
        let lean = try #require(LeanCommandLine.parse(["--version"]) as? VersionFlagRequest)
        var message = ""
        do {
            _ = try SwockMachine.parseAsRoot(["--version"])
        } catch {
            message = SwockMachine.fullMessage(for: error)
            #expect(SwockMachine.exitCode(for: error) == .success)
        }
        #expect(!message.isEmpty && lean.text == message)
    }
}

/// ArgumentParser names a command without `commandName` by printing its type, a reflective
/// lookup that cost about 8 ms of every run (one conformance scan per command type) while it
/// built the command tree. Every command names itself.
struct CommandNameTests {
    static func all(_ command: any ParsableCommand.Type) -> [any ParsableCommand.Type] {
        [command] + command.configuration.subcommands.flatMap { all($0) }
    }

    @Test func everyCommandHasAnExplicitName() {
        let commands = Self.all(SwockMachine.self)
        #expect(commands.count > 30)
        for c in commands {
            #expect(c.configuration.commandName != nil, "\(c) has no commandName")
        }
    }
}
