import EngineAPI
import Foundation
import SSHKit
import Testing

@testable import SwockRemote

/// The keeper's pure parts: the idle time's syntax, where the socket goes, what crosses the wire.
struct KeeperProtocolTests {
    @Test func persistTimes() throws {
        #expect(try KeeperPersist.parse("90") == .seconds(90))
        #expect(try KeeperPersist.parse("30s") == .seconds(30))
        #expect(try KeeperPersist.parse("10m") == .seconds(600))
        #expect(try KeeperPersist.parse("1h") == .seconds(3600))
        #expect(try KeeperPersist.parse("0") == .zero)
        #expect(try KeeperPersist.parse("1.5s") == .milliseconds(1500))
        for bad in ["", "s", "-1", "soon", "10d", "1e3", "nan", "8d", "1 0"] {
            #expect(throws: KeeperError.badPersist(bad)) { try KeeperPersist.parse(bad) }
        }
        #expect(try KeeperPersist.resolve(flag: nil, environment: [:]) == .seconds(60))
        #expect(try KeeperPersist.resolve(flag: nil, environment: ["SWOCK_PERSIST": "0"]) == .zero)
        #expect(try KeeperPersist.resolve(flag: "5s", environment: ["SWOCK_PERSIST": "0"]) == .seconds(5))
    }

    @Test func socketPlacePerUserAndStore() {
        let a = KeeperPlace(storeRoot: "/home/u/.swock/machine", environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], uid: 1000)
        #expect(a.directory == "/run/user/1000/swock-machine")
        #expect(a.socket.hasPrefix("/run/user/1000/swock-machine/keeper-") && a.socket.hasSuffix(".sock"))
        let b = KeeperPlace(storeRoot: "/home/u/.swock/machine", environment: [:], uid: 1000)
        #expect(b.directory == "/tmp/swock-machine-1000")
        let other = KeeperPlace(storeRoot: "/home/u/.swock/machine", environment: [:], uid: 1001)
        #expect(other.directory != b.directory)
        let store2 = KeeperPlace(storeRoot: "/srv/other store", environment: [:], uid: 1000)
        #expect(store2.socket != b.socket && store2.directory == b.directory)
        // A relative XDG_RUNTIME_DIR is not trusted.
        #expect(KeeperPlace(storeRoot: "/x", environment: ["XDG_RUNTIME_DIR": "run"], uid: 7).directory == "/tmp/swock-machine-7")
    }

    @Test func sshErrorsCrossTheWireWhole() throws {
        let errors: [SSHError] = [
            .hostKeyChanged(host: "10.0.0.1", expected: "SHA256:old", presented: "SHA256:new", knownHosts: "/s/known_hosts"),
            .viaJumpHost(hop: "b:22", .connectTimedOut(host: "t", port: 22, seconds: 2.5)),
            .commandFailed(host: "h", command: "c", exitStatus: nil, signal: "KILL", stderr: "e"),
        ]
        for e in errors {
            var r = KeeperReply()
            r.error = e
            let back = try JSONDecoder().decode(KeeperReply.self, from: JSONEncoder().encode(r))
            #expect(back.error == e)
        }
    }

    /// `ls` through the keeper: the names go, each daemon's answer or its failure comes back as
    /// the client would have met it (the error's case and endpoint, the SSH port's answer).
    @Test func pingsCrossTheWireWhole() throws {
        let req = KeeperRequest(op: .ping, store: "/s", timeout: 2.5, machines: ["web1", "db"])
        #expect(try JSONDecoder().decode(KeeperRequest.self, from: JSONEncoder().encode(req)) == req)
        let e = EngineEndpoint(
            host: "10.231.1.7", port: 2376, tls: TLSFiles(directory: "/s/machines/db"), machineName: "db",
            sessionFile: "/s/machines/db/tls-session")
        let pings = [
            KeeperPing(machine: "web1", ping: Ping(apiVersion: "1.41", osType: "linux", engineVersion: "20.10.24+dfsg1")),
            KeeperPing(machine: "db", error: .connectionRefused(e), sshAnswers: true),
            KeeperPing(machine: "old", error: .timedOut(e, after: .milliseconds(2500), during: "TLS handshake"), sshAnswers: false),
            KeeperPing(machine: "bad", error: .nameMismatch(e, covered: "IP:10.231.1.8")),
        ]
        var r = KeeperReply()
        r.pings = pings
        r.engines = ["db", "web1"]
        let back = try JSONDecoder().decode(KeeperReply.self, from: JSONEncoder().encode(r))
        #expect(back.pings == pings && back.engines == ["db", "web1"])
        // An older keeper does not know `ping`: it answers "unavailable" and ls asks directly.
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(KeeperRequest.Op.self, from: Data(#""pong""#.utf8))
        }
    }

    /// A keeper that stops answering: the receive gives up (a bound on a hang, not a measure).
    @Test func aReceiveTimeoutEndsTheWait() throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let mine = KeeperSocket(fd: fds[0]), silent = KeeperSocket(fd: fds[1])
        defer { mine.close(); silent.close() }
        mine.setReceiveTimeout(.milliseconds(200))
        let start = ContinuousClock.now
        #expect(throws: KeeperError.self) { _ = try mine.receive() }
        #expect(ContinuousClock.now - start < .seconds(30))
        // An answer within the time is read as always.
        try silent.send(.reply, Data("{}".utf8))
        #expect(try mine.receive()?.1 == Data("{}".utf8))
        // .zero waits without a bound again: an answer after longer than the old bound is read.
        mine.setReceiveTimeout(.zero)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { try? silent.send(.reply, Data("{}".utf8)) }
        #expect(try mine.receive()?.1 == Data("{}".utf8))
    }

    /// A command's receive watches the keeper's process: one that was stopped (SIGSTOP) ends the
    /// wait with `keeperStopped` naming its pid; one that runs is waited for past the check
    /// interval; a receive timeout, when set, bounds the wait instead.
    @Test func aWatchedReceiveGivesUpAStoppedKeeper() throws {
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        let pid = sleeper.processIdentifier
        defer {
            kill(pid, SIGKILL)
            sleeper.waitUntilExit()
        }
        #expect(!KeeperSocket.isStopped(pid))
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let mine = KeeperSocket(fd: fds[0], watchedPeer: pid), other = KeeperSocket(fd: fds[1])
        defer { mine.close(); other.close() }
        // Running and silent for longer than a check: still waited for.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) { try? other.send(.stdout, Data("late".utf8)) }
        #expect(try mine.receive()?.1 == Data("late".utf8))
        kill(pid, SIGSTOP)
        for _ in 0..<100 where !KeeperSocket.isStopped(pid) { usleep(10_000) }
        #expect(KeeperSocket.isStopped(pid))
        #expect(throws: KeeperError.keeperStopped(pid: pid, host: nil)) { _ = try mine.receive() }
        // Bounded by a receive timeout, the timeout decides (no watch).
        mine.setReceiveTimeout(.milliseconds(200))
        #expect(throws: KeeperError.socket(path: "fd \(fds[0])", reason: "Resource temporarily unavailable")) { _ = try mine.receive() }
        kill(pid, SIGCONT)
        for _ in 0..<100 where KeeperSocket.isStopped(pid) { usleep(10_000) }
        #expect(!KeeperSocket.isStopped(pid))
        #expect(!KeeperSocket.isStopped(999_999_999))
    }

    /// `ask`: one request, its reply decoded; a keeper that closes instead says which request
    /// went unanswered.
    @Test func askIsOneRequestAndItsReply() throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let mine = KeeperSocket(fd: fds[0]), keeper = KeeperSocket(fd: fds[1])
        defer { mine.close(); keeper.close() }
        DispatchQueue.global().async {
            guard let (kind, data) = try? keeper.receive(), kind == .request,
                let req = try? JSONDecoder().decode(KeeperRequest.self, from: data), req.op == .list
            else { return }
            var reply = KeeperReply()
            reply.pid = 42
            try? keeper.send(.reply, json: reply)
            _ = try? keeper.receive()
            keeper.shutdown()
        }
        #expect(try mine.ask(KeeperRequest(op: .list, store: "/s")).pid == 42)
        #expect(throws: KeeperError.protocolViolation("no reply to stop")) { _ = try mine.ask(KeeperRequest(op: .stop, store: "/s")) }
    }

    @Test func fileRequestsCrossTheWireAndOlderKeepersAreKnown() throws {
        // An older keeper's `open` reply lists no ops: its clients do file work directly.
        let old = try JSONDecoder().decode(
            KeeperReply.self, from: Data(#"{"host":"h","port":22,"user":"u","fingerprint":"SHA256:x"}"#.utf8))
        #expect(old.ops == nil && old.host == "h")
        // A request the keeper does not know does not decode: it answers "unavailable", runs nothing.
        #expect(throws: (any Error).self) { try JSONDecoder().decode(KeeperRequest.self, from: Data(#"{"op":"teleport"}"#.utf8)) }
        #expect(KeeperRequest.Op.allCases.map(\.rawValue).contains("file"))
        let req = KeeperRequest(op: .file, file: KeeperFileOp(.upload, path: "dir/f", mode: 0o640))
        #expect(try JSONDecoder().decode(KeeperRequest.self, from: JSONEncoder().encode(req)) == req)
        // SFTP failures keep their status; what SFTP found comes back whole.
        var r = KeeperReply()
        r.error = .sftpFailed(host: "h", operation: "create", path: "/x/.f.swock-1", reason: "permission denied", status: .permissionDenied)
        var found = KeeperFileResult()
        found.info = RemoteFileInfo(kind: .symlink, mode: 0o777, size: 3)
        found.rootAccess = .sudoWithPassword
        r.file = found
        let back = try JSONDecoder().decode(KeeperReply.self, from: JSONEncoder().encode(r))
        #expect(back.error == r.error && back.file?.info == found.info && back.file?.rootAccess == .sudoWithPassword)
        // After a lost keeper only what cannot change the host twice is done again directly.
        let once: [KeeperFileOp.Action] = [.mkdir, .symlink, .remove, .installAsRoot]
        let again: [KeeperFileOp.Action] = [.stat, .lstat, .list, .readlink, .chmod, .upload, .download, .rootAccess]
        #expect(once.allSatisfy { !KeeperFileOp($0).repeatable } && again.allSatisfy { KeeperFileOp($0).repeatable })
    }
}
