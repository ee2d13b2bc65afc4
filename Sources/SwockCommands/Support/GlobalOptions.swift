import ArgumentParser
import Foundation
import Logging
import SwockStore
import SwockSupport
import Synchronization

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("s"), .long], help: ArgumentHelp("Where the machine store lives.", valueName: "path"))
    var storagePath: String?

    @Flag(name: [.customShort("D"), .long], help: "Print debug logs on stderr.")
    var debug = false

    var store: Store { values.store }

    /// The same options as a plain value (what the lean path of `SwockMachine` builds by hand).
    var values: GlobalValues { GlobalValues(storagePath: storagePath, debug: debug) }

    func logger(_ label: String) -> Logger {
        LogSetup.once(debug: debug)
        return Logger(label: label)
    }
}

/// `--storage-path` and `--debug` as plain values.
struct GlobalValues: Equatable, Sendable {
    var storagePath: String?
    var debug = false

    var store: Store { Store(root: Store.resolveRoot(flag: storagePath)) }
}

enum LogSetup {
    private static let done = Mutex(false)

    static func once(debug: Bool) {
        done.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler(label: label, stream: StderrStream())
                h.logLevel = debug ? .debug : .warning
                return h
            }
        }
    }
}

/// Log lines go to stderr through `StandardStreams` like every other write.
struct StderrStream: TextOutputStream, Sendable {
    mutating func write(_ string: String) { StandardStreams.err(string) }
}
