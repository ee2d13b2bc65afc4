import Foundation

/// One operator's script run as root on the host after the engine answers
/// (`create --provision-script FILE`). Its contents are kept in the store (`file`), so a rerun
/// (`provision --rerun-scripts`) runs what create ran, whatever happened to the original since.
public struct ProvisionScript: Codable, Sendable, Equatable {
    /// The path as given (for messages).
    public var source: String
    /// The store's copy, relative to the store (`machines/NAME/provision-script-N`).
    public var file: String
    /// How its last run ended; nil: it has not run yet (create stopped before it).
    public var lastRun: ScriptRun?

    public init(source: String, file: String, lastRun: ScriptRun? = nil) {
        self.source = source
        self.file = file
        self.lastRun = lastRun
    }

    /// The store-relative path of the N-th (from 1) script's copy.
    public static func storePath(machine: String, index: Int) -> String { "machines/\(machine)/provision-script-\(index)" }
}

/// How one run of a provision script ended.
public struct ScriptRun: Codable, Sendable, Equatable {
    /// The script's exit status; nil when it did not end with one (`error` says why).
    public var exitStatus: Int32?
    /// Why there is no exit status (a lost connection, a signal), else nil.
    public var error: String?
    public var seconds: Double
    public var finishedAt: Date
    /// Its last lines of output (stdout and stderr as they came), for a failure's report.
    public var lastLines: [String]

    public init(exitStatus: Int32?, error: String? = nil, seconds: Double, finishedAt: Date, lastLines: [String]) {
        self.exitStatus = exitStatus
        self.error = error
        self.seconds = seconds
        self.finishedAt = finishedAt
        self.lastLines = lastLines
    }

    public var succeeded: Bool { exitStatus == 0 && error == nil }

    /// "exit status 3" or the error.
    public var outcomeText: String { error ?? "exit status \(exitStatus.map(String.init) ?? "?")" }
}
