import ArgumentParser
import Foundation
import SSHKit
import SwockClient
import SwockRemote
import SwockSupport
import Synchronization

struct Scp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scp",
        abstract: "Copy files between machines and this host: swock-machine scp [-r] [-q] SRC... DST",
        discussion: Help.discussion(
            """
            Each side is NAME:path on a machine (relative paths start in the login user's home) or \
            a local path (write ./a:b for a local name with a colon). Machine to machine goes \
            through a private local temporary directory. Several sources need a directory as DST. \
            Files land atomically and keep their permission bits. With -r, a symlink that points \
            inside the copied tree is copied as a symlink; others are followed when they lead to \
            a regular file, else skipped with a warning. A listed name that is not one plain \
            path component (empty, with "/" or NUL, an extra "." or "..", or listed twice) stops the \
            copy: nothing is ever written outside the destination.
            """,
            examples: [
                "swock-machine scp ./app.conf web1:/etc/app/",
                "swock-machine scp -r -q web1:logs ./web1-logs",
                "swock-machine scp web1:/etc/hosts web2:/tmp/",
            ]))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var keeper: KeeperOptions

    @Flag(name: .shortAndLong, help: "Copy directories and their contents.")
    var recursive = false

    @Flag(name: .shortAndLong, help: "Do not show progress.")
    var quiet = false

    @Argument(help: ArgumentHelp("Sources, then the destination: NAME:path or a local path.", valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("give at least one source and a destination") }
    }

    func run() async throws {
        try await reportingErrors {
            let store = global.store
            let progress: CopyProgress? = !quiet && isatty(2) != 0 ? TTYProgress() : nil
            let runner = CopyRunner(
                store: store, ssh: MachineSSH(store: store, logger: global.logger("swock.ssh")),
                keeper: try keeper.client(store, global), progress: progress, warn: { Output.err("Warning: \($0)") },
                interrupted: { Interrupt.received != 0 })
            Interrupt.install()
            defer { Interrupt.restore() }
            do {
                try await runner.run(sources: Array(paths.dropLast()), destination: paths.last!, recursive: recursive)
            } catch  where Interrupt.received != 0 {
                Output.err("Error: \(CopyError.interrupted)")
                throw ExitCode(128 + Interrupt.received)
            }
        }
    }
}

/// Ctrl-C or SIGTERM during a copy: the first one lets the copy stop between chunks and remove
/// its temporary files (local and remote); a second one kills the process as usual.
enum Interrupt {
    nonisolated(unsafe) static var received: Int32 = 0

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { s in
                Interrupt.received = s
                signal(s, SIG_DFL)
            }
        }
    }

    static func restore() {
        for sig in [SIGINT, SIGTERM] { signal(sig, SIG_DFL) }
    }
}

/// One line per file on stderr, redrawn in place: name, percent, bytes and rate.
final class TTYProgress: CopyProgress, Sendable {
    private struct State {
        var name = ""
        var total: UInt64 = 0
        var done: UInt64 = 0
        var start = ContinuousClock.now
        var lastDraw = ContinuousClock.now
    }
    private let state = Mutex(State())

    func started(_ name: String, bytes: UInt64) {
        state.withLock { s in
            s.name = name.count > 40 ? "..." + name.suffix(37) : name
            s.total = bytes
            s.done = 0
            s.start = .now
            Self.draw(&s, end: "")
        }
    }

    func advanced(to bytes: UInt64) {
        state.withLock { s in
            s.done = bytes
            if ContinuousClock.now - s.lastDraw >= .milliseconds(100) { Self.draw(&s, end: "") }
        }
    }

    func ended(success: Bool) {
        state.withLock { s in
            if success { s.done = s.total }
            Self.draw(&s, end: "\n")
        }
    }

    private static func draw(_ s: inout State, end: String) {
        s.lastDraw = .now
        let seconds = max((s.lastDraw - s.start).timeInterval, 0.001)
        let percent = s.total == 0 ? 100 : s.done * 100 / s.total
        let line =
            "\r\u{1B}[K\(s.name)  \(percent)%  \(size(Double(s.done))) / \(size(Double(s.total)))  \(size(Double(s.done) / seconds))/s"
        StandardStreams.err(line + end)
    }

    static func size(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = bytes, i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(Int(v)) B" : String(format: "%.1f", v) + " " + units[i]
    }
}
