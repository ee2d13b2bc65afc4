import Foundation
import Synchronization

/// The one place the process writes to its stdout and stderr.
///
/// Writes go straight to the descriptors (never through `FileHandle.write(_: Data)`, whose
/// `try!` crashes on a closed pipe, nor through stdio buffers), whole, one writer at a time.
/// When the reader goes away the process ends the Unix way, quietly:
/// - stdout closed (`EPIPE`): the process dies of SIGPIPE, as a tool with the default signal
///   disposition would (a shell shows status 141), without a message;
/// - stdout failing otherwise (a full disk behind `>`): one line on stderr, status 1;
/// - stderr closed or failing: what is left for stderr is dropped and the command goes on (diagnostics
///   and progress must not abort a create halfway); its status is unchanged.
public enum StandardStreams {
    /// What every write holds: whether stderr failed (its writes are dropped from then on) and
    /// the overlay drawn below the output.
    private struct State {
        var stderrBroken = false
        var overlay: (any TerminalOverlay)?
    }
    private static let state = Mutex(State())

    /// Shows `o` (a live progress board) below everything written from now on: each write first
    /// erases it and draws it again after itself. nil takes it away (what it drew last stays).
    public static func setOverlay(_ o: (any TerminalOverlay)?) {
        state.withLock { $0.overlay = o }
    }

    /// Draws the overlay again (its clock ticked), as one unit among the process's writers.
    public static func redrawOverlay() {
        state.withLock { st in
            guard let o = st.overlay, !st.stderrBroken else { return }
            let bytes = o.erase() + o.draw()
            bytes.withUnsafeBytes { writeLocked(2, $0, &st) }
        }
    }

    public static func out(_ text: String) { write(1, Data(text.utf8)) }
    public static func err(_ text: String) { write(2, Data(text.utf8)) }
    public static func out(_ data: Data) { write(1, data) }
    public static func err(_ data: Data) { write(2, data) }

    public static func write(_ fd: Int32, _ data: Data) {
        data.withUnsafeBytes { write(fd, $0) }
    }

    /// Writes all of `raw` to `fd` (1 or 2) as one unit among the process's writers.
    public static func write(_ fd: Int32, _ raw: UnsafeRawBufferPointer) {
        guard raw.baseAddress != nil, raw.count > 0 else { return }
        state.withLock { st in
            if let o = st.overlay, !st.stderrBroken {
                o.erase().withUnsafeBytes { writeLocked(2, $0, &st) }
                writeLocked(fd, raw, &st)
                o.draw().withUnsafeBytes { writeLocked(2, $0, &st) }
                return
            }
            writeLocked(fd, raw, &st)
        }
    }

    /// Writes `pieces` one after the other as one unit, without joining them into one buffer
    /// first (a prefix and a line of a megabyte).
    public static func write(_ fd: Int32, pieces: [Data]) {
        guard pieces.contains(where: { !$0.isEmpty }) else { return }
        state.withLock { st in
            let overlay = st.stderrBroken ? nil : st.overlay
            if let o = overlay { o.erase().withUnsafeBytes { writeLocked(2, $0, &st) } }
            for p in pieces { p.withUnsafeBytes { writeLocked(fd, $0, &st) } }
            if let o = overlay { o.draw().withUnsafeBytes { writeLocked(2, $0, &st) } }
        }
    }

    private static func writeLocked(_ fd: Int32, _ raw: UnsafeRawBufferPointer, _ st: inout State) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        if fd == 2 && st.stderrBroken { return }
        var off = 0
        while off < raw.count {
            let n = Foundation.write(fd, base + off, raw.count - off)
            if n > 0 { off += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                // A non-blocking descriptor someone handed us: wait until it takes more.
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, -1)
                continue
            }
            let code = n < 0 ? errno : EIO
            if fd == 2 {
                // Nobody can read diagnostics any more: drop them, go on.
                st.stderrBroken = true
                return
            }
            if code == EPIPE { readerGone() }
            // Output that cannot be delivered (a full disk behind `>`, a terminal gone): one
            // line on stderr, status 1, rather than pretending it was written.
            let line = Array("swock-machine: cannot write to stdout: \(String(cString: strerror(code)))\n".utf8)
            line.withUnsafeBytes { _ = Foundation.write(2, $0.baseAddress, $0.count) }
            _exit(1)
        }
    }

    /// Ends the process as if killed by SIGPIPE: no message, no backtrace. Buffered stdio is
    /// not flushed (it would only meet the same closed pipe).
    public static func readerGone() -> Never {
        signal(SIGPIPE, SIG_DFL)
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        pthread_sigmask(SIG_UNBLOCK, &pipeOnly, nil)
        raise(SIGPIPE)
        // Not reached unless SIGPIPE could not be delivered to this thread.
        _exit(128 + SIGPIPE)
    }
}

/// Something drawn at the bottom of the terminal that other output goes above
/// (`StandardStreams.setOverlay`). Both calls happen under the streams' lock: they must not write.
public protocol TerminalOverlay: AnyObject, Sendable {
    /// The bytes that erase what was drawn last (nothing when nothing is drawn).
    func erase() -> Data
    /// The bytes that draw it now.
    func draw() -> Data
}
