import Foundation

/// The live board long work over several machines shows on a terminal: one line per machine
/// with its current step, elapsed time and a spinner; finished machines collapse to a mark and
/// their duration; a summary line last. A machine whose one step runs long says "still waiting"
/// with that step's time instead of going silent.
///
/// A value plus a pure `render` (state, clock, width -> lines): the terminal writer
/// (`SwockCommands`) redraws it; tests render it at any time and width.
public struct ProgressBoard: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Not started yet.
        case waiting
        /// Running `step` since `stepStarted` (seconds on the board's clock).
        case running(step: String, stepStarted: Double)
        /// Finished: `detail` ("ready", "exit status 2: ..."), after `seconds`.
        case done(ok: Bool, detail: String, seconds: Double)
    }

    public struct Row: Sendable, Equatable {
        public var name: String
        public var state: State
        /// When the machine started (seconds on the board's clock).
        public var started: Double?

        public init(name: String, state: State = .waiting, started: Double? = nil) {
            self.name = name
            self.state = state
            self.started = started
        }
    }

    public var rows: [Row]
    /// When the whole run started (seconds on the board's clock).
    public var started: Double
    /// A step running this long says "still waiting".
    public var stillWaitingAfter: Double = 10

    public static let spinner: [String] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    public static let okMark = "✔"
    public static let failMark = "✘"

    public init(names: [String], started: Double) {
        rows = names.map { Row(name: $0) }
        self.started = started
    }

    // MARK: - Events

    public mutating func step(_ index: Int, _ step: String, at now: Double) {
        guard rows.indices.contains(index) else { return }
        if case .done = rows[index].state { return }
        if rows[index].started == nil { rows[index].started = now }
        rows[index].state = .running(step: step, stepStarted: now)
    }

    public mutating func finish(_ index: Int, ok: Bool, detail: String, at now: Double) {
        guard rows.indices.contains(index) else { return }
        let seconds = now - (rows[index].started ?? now)
        rows[index].state = .done(ok: ok, detail: detail, seconds: seconds)
    }

    public var isFinished: Bool { rows.allSatisfy { if case .done = $0.state { true } else { false } } }

    // MARK: - Rendering

    /// The screen: one line per machine, then the summary; no line wider than `width` columns
    /// (cut with "…"). `frame` picks the spinner's picture. With `height`, at most that many
    /// lines (a board taller than the terminal could not be redrawn in place): the running
    /// machines first, then failed, waiting and finished ones, and a line counting those left out.
    public func render(now: Double, width: Int, frame: Int, height: Int? = nil) -> [String] {
        let width = max(width, 10)
        let nameWidth = min(rows.map { $0.name.count }.max() ?? 0, max(4, width / 3))
        var shown = rows
        var hidden: [Row] = []
        if let height, rows.count + 1 > max(height, 3) {
            func rank(_ r: Row) -> Int {
                switch r.state {
                case .running: 0
                case .done(false, _, _): 1
                case .waiting: 2
                case .done: 3
                }
            }
            let room = max(height, 3) - 2
            let order = rows.indices.sorted { (rank(rows[$0]), $0) < (rank(rows[$1]), $1) }
            let keep = Set(order.prefix(room))
            shown = rows.indices.filter { keep.contains($0) }.map { rows[$0] }
            hidden = rows.indices.filter { !keep.contains($0) }.map { rows[$0] }
        }
        var lines = shown.map { line(for: $0, now: now, width: width, nameWidth: nameWidth, frame: frame) }
        if !hidden.isEmpty {
            let done = hidden.filter { if case .done = $0.state { true } else { false } }.count
            lines.append(Self.fit("… \(hidden.count) more (\(done) done, \(hidden.count - done) not)", width: width))
        }
        lines.append(Self.fit(summary(now: now), width: width))
        return lines
    }

    /// "3/5 done: 2 ok, 1 failed · 2 running · 12.3s"
    public func summary(now: Double) -> String {
        var ok = 0, failed = 0, running = 0, waiting = 0
        for r in rows {
            switch r.state {
            case .waiting: waiting += 1
            case .running: running += 1
            case .done(let good, _, _): if good { ok += 1 } else { failed += 1 }
            }
        }
        var parts = ["\(ok + failed)/\(rows.count) done: \(ok) ok, \(failed) failed"]
        if running > 0 { parts.append("\(running) running") }
        if waiting > 0 { parts.append("\(waiting) waiting") }
        parts.append(Self.duration(now - started))
        return parts.joined(separator: " · ")
    }

    func line(for row: Row, now: Double, width: Int, nameWidth: Int, frame: Int) -> String {
        let name = Self.fit(row.name, width: nameWidth).padding(toLength: nameWidth, withPad: " ", startingAt: 0)
        let mark: String
        let text: String
        let time: String
        switch row.state {
        case .waiting:
            mark = "·"; text = "waiting"; time = ""
        case .running(let step, let since):
            mark = Self.spinner[((frame % Self.spinner.count) + Self.spinner.count) % Self.spinner.count]
            let inStep = now - since
            text = inStep >= stillWaitingAfter ? "\(step): still waiting (\(Self.duration(inStep)))" : step
            time = Self.duration(now - (row.started ?? since))
        case .done(let ok, let detail, let seconds):
            mark = ok ? Self.okMark : Self.failMark; text = detail.split(whereSeparator: \.isNewline).joined(separator: " ");
            time = Self.duration(seconds)
        }
        // "M NAME  TEXT ... TIME": the time right-aligned; the text cut first when narrow.
        let head = "\(mark) \(name)  "
        let room = width - head.count - (time.isEmpty ? 0 : time.count + 1)
        if room < 4 { return Self.fit(head + text, width: width) }
        let body = Self.fit(text, width: room)
        let gap = String(repeating: " ", count: max(1, room - body.count + 1))
        return time.isEmpty ? head + body : head + body + gap + time
    }

    /// `text` cut to `width` characters, ending in "…" when cut.
    public static func fit(_ text: String, width: Int) -> String {
        guard text.count > width else { return text }
        guard width > 1 else { return String(text.prefix(max(0, width))) }
        return String(text.prefix(width - 1)) + "…"
    }

    /// "4.2s", "1m05s", "1h02m".
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 60 { return String(format: "%.1fs", s) }
        let whole = Int(s)
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
