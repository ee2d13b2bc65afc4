import ArgumentParser
import Foundation
import SwockFleet
import SwockRuntime
import SwockSupport

/// Prints fleet output: in text form each whole line as it arrives, as `NAME | line`, stdout to
/// stdout and stderr to stderr (coloured prefixes only on a terminal), a host's partial lines and
/// its status when it ends; in json form one object per host when it ends. Every write goes
/// through one serial queue, so lines never interleave and the cooperative pool never writes.
///
/// `@unchecked Sendable`: its state is confined to a serial `DispatchQueue` (writes are ordered
/// and never on the cooperative pool), which the compiler cannot see; a `Mutex` would not order
/// the asynchronous `finish` writes after the lines before them.
final class FleetPrinter: FleetSink, @unchecked Sendable {
    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    let format: Format
    private let queue = DispatchQueue(label: "swock.fleet.output")
    // Touched only on `queue`.
    private var splitters: [[LineSplitter]]
    private var done: [Bool]
    private let outPrefixes: [LinePrefix]
    private let errPrefixes: [LinePrefix]
    /// The unfinished lines of all hosts together: a host over it waits (on its own thread).
    private let budget: PartialLineBudget

    init(names: [String], format: Format) {
        self.format = format
        let width = LinePrefix.width(of: names)
        let colourOut = isatty(1) != 0, colourErr = isatty(2) != 0
        outPrefixes = names.enumerated().map { LinePrefix(name: $1, width: width, colour: colourOut ? $0 : nil) }
        errPrefixes = names.enumerated().map { LinePrefix(name: $1, width: width, colour: colourErr ? $0 : nil) }
        splitters = names.map { _ in [LineSplitter(), LineSplitter()] }
        done = names.map { _ in false }
        budget = PartialLineBudget(hosts: names.count)
    }

    /// Called on the host's own thread (an SSH session's, a child process reader's), which may
    /// wait here for room (PartialLineBudget).
    func output(host: Int, stderr: Bool, _ data: Data) {
        guard format == .text else { return }
        let holding: Int = queue.sync {
            guard !done[host] else { return 0 }
            let prefix = stderr ? errPrefixes[host] : outPrefixes[host]
            var buf: [UInt8] = []
            buf.reserveCapacity(data.count + 64)
            splitters[host][stderr ? 1 : 0].feed(data) { prefix.append($0, to: &buf) }
            if !buf.isEmpty { buf.withUnsafeBytes { write(stderr ? 2 : 1, $0) } }
            return splitters[host][0].pendingCount + splitters[host][1].pendingCount
        }
        budget.update(host: host, holding: holding)
    }

    func finished(host: Int, _ outcome: HostOutcome) {
        queue.async { [self] in
            guard !done[host] else { return }
            done[host] = true
            switch format {
            case .text:
                if let rest = splitters[host][0].finish() { StandardStreams.write(1, pieces: outPrefixes[host].pieces(rest)) }
                if let rest = splitters[host][1].finish() { StandardStreams.write(2, pieces: errPrefixes[host].pieces(rest)) }
                budget.release(host: host)
                if let status = ErrorReport.status(outcome) {
                    write(2, errPrefixes[host].apply(status + ErrorReport.adviceSuffix(outcome.failure)))
                }
            case .json:
                write(1, Data((outcome.jsonLine(errorText: ErrorReport.error(outcome)) + "\n").utf8))
            }
        }
    }

    /// The summary line on stderr, after everything queued before it.
    func summary(_ outcomes: [HostOutcome]) {
        queue.sync { write(2, Data((FleetSummary.line(outcomes) + "\n").utf8)) }
    }

    /// Writes all of `data` (on `queue`) through `StandardStreams`: a closed stdout ends the
    /// process quietly, a closed stderr silences that stream.
    private func write(_ fd: Int32, _ data: Data) {
        StandardStreams.write(fd, data)
    }

    private func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer) {
        StandardStreams.write(fd, raw)
    }
}
