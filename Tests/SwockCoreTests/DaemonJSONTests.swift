import FleetSupport
import Foundation
import Testing

@testable import SwockEngine

struct DaemonJSONTests {
    @Test func adoptionMovesConflictingKeysAndSwitchesOnLiveRestore() throws {
        let plan = try DaemonJSON.plan(existed: true, object: ["hosts": ["fd://"], "tlsverify": true, "debug": true])
        #expect(plan.movedKeys == ["hosts", "tlsverify"])
        #expect(plan.switchesOnLiveRestore)
        let written = try #require(plan.file)
        let object = try #require(try JSONSerialization.jsonObject(with: written.data) as? [String: Any])
        #expect(Set(object.keys) == ["debug", "live-restore"])
        #expect(
            plan.keepCommand
                == Scripts.daemonJSON.command(
                    "keep", "existed", "/etc/docker/daemon.json", "/etc/docker/daemon.json.swock-backup",
                    "/etc/docker/daemon.json.swock-absent"))
        // A file that already suits us is left as it is.
        let none = try DaemonJSON.plan(existed: true, object: ["live-restore": false])
        #expect(none.file == nil && none.keepCommand == nil && !none.switchesOnLiveRestore)
    }

    /// The reload runs only when a container runs (a containerd shim is there), and the check
    /// must not find itself: sudo and sh carry the whole script on their command lines.
    /// (`pgrep -s 0`: only this test's session, not the shims of fleet hosts that other tests
    /// run containers on, which the host's process table shows too.)
    @Test func theReloadBeforeARestartIsOnlyForRunningContainers() throws {
        let probe = DaemonJSON.reloadIfContainersRun
            .replacingOccurrences(of: "pid=$(pidof dockerd) && kill -HUP $pid && sleep 0.3", with: "echo reload")
            .replacingOccurrences(of: "pgrep -f", with: "pgrep -s 0 -f")
        #expect(probe.contains("pgrep -s 0 -f") && probe.contains("echo reload"))
        #expect(try sh(probe).stdoutText == "", "no shim runs, yet the check found one (itself?)")
        let shim = Process()
        shim.executableURL = URL(fileURLWithPath: "/bin/bash")
        shim.arguments = ["-c", "exec -a containerd-shim-runc-v2 sleep 20"]
        try shim.run()
        defer { kill(shim.processIdentifier, SIGKILL); shim.waitUntilExit() }
        var seen = ""
        for _ in 0..<50 where seen.isEmpty {
            usleep(50_000)
            seen = try sh(probe).stdoutText
        }
        #expect(seen == "reload\n")
    }
}
