import Foundation
import SwockClient

/// A parsed request of one of the verbs that read one record and print.
protocol LeanRequest: Sendable {
    func run() async throws
}

/// The verbs that read one record and print (`env`, `active`, `ip`, `url`, `config`), parsed by
/// hand. Measured on a release build, ArgumentParser's reflective parse of one command (its
/// Mirror walk, the dynamic casts and the protocol conformance scans they start, its check for
/// a completion-script request) was a quarter of such a run. Only the plain shapes are taken:
/// anything else (help, an unknown or repeated option, a bad value, `--`) gives nil, and the
/// full parser handles it and reports errors as usual. `LeanCommandLineTests` checks that both
/// parsers agree.
enum LeanCommandLine {
    static func parse(_ argv: [String]) -> (any LeanRequest)? {
        guard let verb = argv.first else { return nil }
        // The root's --version, alone: ArgumentParser's answer without its reflective parse.
        if argv == ["--version"] { return VersionFlagRequest() }
        var words = Words(Array(argv.dropFirst()))
        switch verb {
        case "env":
            var r = EnvRequest(global: GlobalValues())
            while let w = words.next() {
                switch w {
                case "--shell",
                    _ where w.hasPrefix("--shell="):
                    guard r.shell == nil, let v = words.value(of: w, long: "--shell"), let s = ShellEnv.Shell(rawValue: v) else {
                        return nil
                    }
                    r.shell = s
                case "--unset", "-u": guard !r.unset else { return nil }; r.unset = true
                case "--no-proxy": guard !r.noProxy else { return nil }; r.noProxy = true
                case "--check": guard !r.check else { return nil }; r.check = true
                case "--swarm": guard !r.swarm else { return nil }; r.swarm = true
                default:
                    guard words.global(w, into: &r.global) || words.single(w, into: &r.name) else { return nil }
                }
            }
            return words.failed ? nil : r
        case "active":
            var r = ActiveRequest(global: GlobalValues())
            while let w = words.next() {
                guard words.global(w, into: &r.global) else { return nil }
            }
            return words.failed ? nil : r
        case "ip":
            var r = IPRequest(global: GlobalValues())
            while let w = words.next() {
                if words.global(w, into: &r.global) { continue }
                guard !w.hasPrefix("-") else { return nil }
                r.names.append(w)
            }
            return words.failed ? nil : r
        case "url":
            var r = URLCommandRequest(global: GlobalValues())
            while let w = words.next() {
                if w == "--check" { guard !r.check else { return nil }; r.check = true; continue }
                guard words.global(w, into: &r.global) || words.single(w, into: &r.name) else { return nil }
            }
            return words.failed ? nil : r
        case "config":
            var r = ConfigRequest(global: GlobalValues())
            while let w = words.next() {
                guard words.global(w, into: &r.global) || words.single(w, into: &r.name) else { return nil }
            }
            return words.failed ? nil : r
        default:
            return nil
        }
    }

    /// The arguments after the verb, read one at a time.
    struct Words {
        private var rest: ArraySlice<String>
        private var sawStore = false
        /// Set when a word was recognised but malformed (a missing or repeated value).
        private(set) var failed = false

        init(_ words: [String]) { rest = words[...] }

        mutating func next() -> String? { rest.popFirst() }

        /// The value of `--long=VALUE`, or the word after `--long`/`-x` (not one that looks
        /// like an option: ArgumentParser would treat it as one).
        mutating func value(of word: String, long: String) -> String? {
            if word.hasPrefix(long + "=") { return String(word.dropFirst(long.count + 1)) }
            guard let v = rest.first, !v.hasPrefix("-") else { return nil }
            rest.removeFirst()
            return v
        }

        /// Takes `-s PATH`, `--storage-path PATH`, `--storage-path=PATH`, `-D`, `--debug`.
        mutating func global(_ w: String, into g: inout GlobalValues) -> Bool {
            switch w {
            case "-s", "--storage-path",
                _ where w.hasPrefix("--storage-path="):
                if sawStore { failed = true; return true }
                sawStore = true
                guard let v = value(of: w, long: "--storage-path") else { failed = true; return true }
                g.storagePath = v
                return true
            case "-D", "--debug":
                if g.debug { failed = true }
                g.debug = true
                return true
            default:
                return false
            }
        }

        /// Takes the one optional positional argument (a machine name).
        mutating func single(_ w: String, into name: inout String?) -> Bool {
            guard !w.hasPrefix("-"), name == nil else { return false }
            name = w
            return true
        }
    }
}

/// `swock-machine --version`: the version line ArgumentParser prints for the root command
/// (`SwockMachine.version`), without building and parsing the command tree.
struct VersionFlagRequest: LeanRequest, Equatable {
    var text: String { SwockMachine.version }

    func run() async throws { Output.out(text + "\n") }
}
