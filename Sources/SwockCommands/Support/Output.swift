import ArgumentParser
import Foundation
import SwockProvision
import SwockStore
import SwockSupport

/// Writing to stdout/stderr (through `StandardStreams`, the one place that handles a reader
/// going away), and turning errors into one line plus a non-zero exit.
enum Output {
    static func err(_ line: String, terminator: String = "\n") {
        StandardStreams.err(line + terminator)
    }

    static func out(_ text: String) {
        StandardStreams.out(text)
    }

    /// Asks `question (y/n): ` on stderr and reads the answer from stdin; anything but y or yes
    /// throws `abort`, and nothing should have been changed yet.
    static func confirm(_ question: String, abort: String) throws {
        err(question + " (y/n): ", terminator: "")
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else { throw UserFacingError(abort) }
    }
}

/// A failure the user sees as one line on stderr, exit status 1.
struct UserFacingError: CodedError {
    var description: String
    init(_ d: String) { description = d }
    var code: ErrorCode { "command.failed" }
}

extension AsyncParsableCommand {
    /// Runs `body`; any error becomes one line on stderr (`ErrorReport.line`) and its exit
    /// status (`ErrorReport.exitStatus`: 64 for a usage error, else 1).
    func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let e as ExitCode {
            throw e
        } catch let e as CleanExit {
            throw e
        } catch {
            Output.err("Error: \(ErrorReport.line(error))")
            throw ExitCode(ErrorReport.exitStatus(error))
        }
    }
}

/// Progress lines on stderr: `(web1) install-engine: installed ... (12.3 s)`.
struct StderrProgress: ProvisionProgress {
    func stepStarted(machine: String, step: ProvisionStep) {}

    func output(machine: String, step: ProvisionStep, line: String) {
        Output.err("(\(machine)) \(line)")
    }

    func stepFinished(machine: String, step: ProvisionStep, detail: String, seconds: Double) {
        let d = detail.isEmpty ? "" : ": \(detail)"
        Output.err("(\(machine)) \(step)\(d) (\(String(format: "%.2f", seconds)) s)")
    }
}
