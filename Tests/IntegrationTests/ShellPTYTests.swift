import FleetSupport
import Foundation
import Testing

/// `swock-machine ssh NAME` with no command: an interactive shell on a PTY sized like the local
/// terminal, with the local terminal's mode restored afterwards. Driven through a real pseudo
/// terminal (python's pty module), as a person's terminal would.
@Suite(.enabled(if: Fleet.enabled, "\(Fleet.skipComment)"), .fleetSlot)
struct ShellPTYTests {
    static let driver = #"""
        import os, pty, sys, termios, fcntl, struct, select, time
        binary, store, name = sys.argv[1:4]
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 37, 101, 0, 0))
        before = termios.tcgetattr(slave)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2): os.dup2(slave, fd)
            os.environ["SWOCK_MACHINE_STORAGE_PATH"] = store
            os.environ["TERM"] = "xterm"
            os.execv(binary, [binary, "ssh", name])
        out = b""
        def pump(deadline):
            global out
            while time.time() < deadline:
                r, _, _ = select.select([master], [], [], 0.1)
                if r:
                    try: out += os.read(master, 65536)
                    except OSError: return
        pump(time.time() + 3)
        os.write(master, b"stty size; echo tty=$(tty | cut -c1-8); exit 3\r")
        pump(time.time() + 5)
        _, status = os.waitpid(pid, 0)
        after = termios.tcgetattr(slave)
        sys.stdout.write(out.decode("utf-8", "replace"))
        print("\nEXIT=%d RESTORED=%s" % (os.WEXITSTATUS(status), before == after))
        """#

    @Test func interactiveShellOnAPTY() async throws {
        let host = try await Fleet.up("pty1", variant: "docker")
        let cli = CLI()
        defer { cli.cleanup() }
        #expect(try await cli.create("box", on: host).status == 0)
        let r = try await Subprocess.run(["python3", "-c", Self.driver, CLI.binary, cli.store, "box"])
        #expect(r.stdoutText.contains("37 101"), "the remote PTY must have the local terminal's size: \(r.stdoutText)")
        #expect(r.stdoutText.contains("tty=/dev/pts"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("EXIT=3"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("RESTORED=True"), "\(r.stdoutText)")
    }
}
