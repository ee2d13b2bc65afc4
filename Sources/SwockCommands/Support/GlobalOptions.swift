import ArgumentParser
import Foundation
import Logging
import SwockCore

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("s"), .long], help: ArgumentHelp("Where the machine store lives.", valueName: "path"))
    var storagePath: String?

    @Flag(name: [.customShort("D"), .long], help: "Print debug logs on stderr.")
    var debug = false

    var store: Store { Store(root: Store.resolveRoot(flag: storagePath)) }

    func logger(_ label: String) -> Logger {
        LogSetup.once(debug: debug)
        return Logger(label: label)
    }
}

enum LogSetup {
    nonisolated(unsafe) private static var done = false
    private static let lock = NSLock()

    static func once(debug: Bool) {
        lock.lock(); defer { lock.unlock() }
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = debug ? .debug : .warning
            return h
        }
    }
}
