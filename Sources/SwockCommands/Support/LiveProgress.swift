import ArgumentParser
import Foundation
import SwockProvision
import SwockRuntime
import SwockStore
import SwockSupport
import Synchronization

/// `--progress auto|tty|plain|quiet`, as docker compose and buildx take it.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// tty when stdout and stderr are terminals, else plain.
    case auto
    /// The live board (on stderr).
    case tty
    /// A line per finished step, as before.
    case plain
    /// No progress lines (errors and results still print).
    case quiet

    /// `auto` decided for this process.
    func resolved(
        isTerminal: Bool = isatty(1) != 0 && isatty(2) != 0,
        term: String? = ProcessInfo.processInfo.environment["TERM"]
    ) -> ProgressMode {
        guard self == .auto else { return self }
        return isTerminal && term != "dumb" ? .tty : .plain
    }
}

struct ProgressOptions: ParsableArguments {
    @Option(
        name: .customLong("progress"),
        help: "auto: a live board on a terminal, plain lines otherwise; tty: the board; plain: a line per step; quiet: none.")
    var progress = ProgressMode.auto
}

/// The live board on the terminal: redrawn ten times a second below all other output
/// (`StandardStreams` erases it before each write and draws it after). `stop` leaves its last
/// picture, every machine collapsed to its mark, and the summary.
final class LiveBoard: TerminalOverlay, Sendable {
    private struct State {
        var board: ProgressBoard
        var drawnLines = 0
        var frame = 0
        var live = false
        var timer: HeldDispatchSources?
        var interrupt: HeldDispatchSources?
    }

    private let state: Mutex<State>
    private let origin = ContinuousClock.now
    private let index: [String: Int]

    init(names: [String]) {
        state = Mutex(State(board: ProgressBoard(names: names, started: 0)))
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
        self.index = index
    }

    private var now: Double { (ContinuousClock.now - origin).timeInterval }

    /// Starts drawing. On Ctrl-C: the board's last picture, a line naming the machines that were
    /// running (their records say where each stopped: `resume` is the command that goes on),
    /// exit status 130.
    func start(resume: @escaping @Sendable ([String]) -> String) {
        state.withLock { $0.live = true }
        StandardStreams.setOverlay(self)
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
        t.setEventHandler { @Sendable [weak self] in
            guard let self else { return }
            self.state.withLock { $0.frame += 1 }
            StandardStreams.redrawOverlay()
        }
        t.resume()
        let timer = HeldDispatchSources([t])
        state.withLock { $0.timer = timer }
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler { @Sendable [weak self] in
            guard let self else { _exit(130) }
            let running = self.stop()
            StandardStreams.err(
                "interrupted" + (running.isEmpty ? "" : ": \(running.joined(separator: ", ")) did not finish; \(resume(running))") + "\n")
            _exit(130)
        }
        s.resume()
        let interrupt = HeldDispatchSources([s])
        state.withLock { $0.interrupt = interrupt }
    }

    func step(_ name: String, _ step: String) {
        guard let i = index[name] else { return }
        let at = now
        state.withLock { $0.board.step(i, step, at: at) }
    }

    func finish(_ name: String, ok: Bool, detail: String) {
        guard let i = index[name] else { return }
        let at = now
        state.withLock { $0.board.finish(i, ok: ok, detail: detail, at: at) }
    }

    /// Stops redrawing and leaves the final picture; returns the machines still running.
    @discardableResult
    func stop() -> [String] {
        state.withLock { $0.timer }?.cancel()
        StandardStreams.redrawOverlay()
        StandardStreams.setOverlay(nil)
        return state.withLock { s in
            s.live = false
            return s.board.rows.compactMap { if case .running = $0.state { $0.name } else { nil } }
        }
    }

    // MARK: TerminalOverlay (called under the streams' lock)

    func erase() -> Data {
        state.withLock { s in
            guard s.drawnLines > 0 else { return Data() }
            let n = s.drawnLines
            s.drawnLines = 0
            // Up n lines to column 1, then clear to the end of the screen.
            return Data("\u{1B}[\(n)F\u{1B}[J".utf8)
        }
    }

    func draw() -> Data {
        // One column spare: a line exactly as wide as the terminal would wrap on some terminals.
        let size = Self.terminalSize()
        let at = now
        return state.withLock { s in
            guard s.live else { return Data() }
            let lines = s.board.render(now: at, width: size.columns - 1, frame: s.frame, height: size.rows - 1)
            s.drawnLines = lines.count
            return Data((lines.joined(separator: "\n") + "\n").utf8)
        }
    }

    static func terminalSize() -> (columns: Int, rows: Int) {
        var w = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 { return (Int(w.ws_col), Int(w.ws_row)) }
        let env = ProcessInfo.processInfo.environment
        return (Int(env["COLUMNS"] ?? "") ?? 80, Int(env["LINES"] ?? "") ?? 24)
    }
}

/// Provisioning steps onto the board; a script's output lines go above it.
struct BoardProvisionProgress: ProvisionProgress {
    let board: LiveBoard

    func stepStarted(machine: String, step: ProvisionStep) { board.step(machine, step.rawValue) }
    func stepFinished(machine: String, step: ProvisionStep, detail: String, seconds: Double) {}
    func output(machine: String, step: ProvisionStep, line: String) { Output.err("(\(machine)) \(line)") }
}

/// `--progress quiet`: nothing.
struct QuietProgress: ProvisionProgress {
    func stepStarted(machine: String, step: ProvisionStep) {}
    func stepFinished(machine: String, step: ProvisionStep, detail: String, seconds: Double) {}
}

/// The board for a provisioning run over `names`, when the mode asks for one; else the lines.
struct ProvisionDisplay {
    let board: LiveBoard?
    let progress: ProvisionProgress

    init(names: [String], mode: ProgressMode) {
        switch mode.resolved() {
        case .tty:
            let b = LiveBoard(names: names)
            board = b
            progress = BoardProvisionProgress(board: b)
        case .quiet:
            board = nil
            progress = QuietProgress()
        case .plain, .auto:
            board = nil
            progress = StderrProgress()
        }
    }
}

/// Fan-out hosts onto the board: started -> `step`, finished -> mark and outcome.
struct BoardFanOutObserver: FanOutObserver {
    let board: LiveBoard
    let step: String

    func started(_ name: String) { board.step(name, step) }

    func finished(_ name: String, _ outcome: HostOutcome) {
        let ok = outcome.result == .ok
        let detail = ok ? (outcome.detail ?? "done") : (ErrorReport.status(outcome) ?? outcome.error ?? outcome.result.rawValue)
        board.finish(name, ok: ok, detail: detail)
    }
}

/// Runs `body` (fan-outs over `names`) under the live board when `mode` asks for one; `step`
/// is what a running host shows ("exec", "upgrade").
enum FanOutDisplay {
    static func run<T>(names: [String], mode: ProgressMode, step: String, _ body: () async throws -> T) async throws -> T {
        guard mode.resolved() == .tty, !names.isEmpty else { return try await body() }
        let board = LiveBoard(names: names)
        board.start { _ in "what they were doing may still be running there" }
        defer { board.stop() }
        return try await FanOut.$observer.withValue(BoardFanOutObserver(board: board, step: step)) { try await body() }
    }
}
