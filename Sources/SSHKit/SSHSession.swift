import CLibSSH
import Foundation
import Logging
import SwockSupport
import Synchronization

/// One authenticated SSH connection. All libssh work happens on the session's own thread; the
/// public API is async and safe to call from any task (calls are queued in order).
///
/// `@unchecked Sendable`: it holds libssh's session and SFTP handles (C pointers, not Sendable),
/// which only the worker thread touches; the state other threads read is behind `Mutex`es.
public final class SSHSession: @unchecked Sendable {
    public let target: SSHTarget
    /// `SHA256:...` of the host key the server presented (and that passed verification).
    public let hostKeyFingerprint: String
    let options: SSHOptions
    let worker: SSHWorkerThread
    var logger: Logger { options.logger }
    // Touched only on `worker`.
    var session: ssh_session?
    var sftpHandle: sftp_session?
    /// How root commands run, once found (`rootAccess()`); the password for sudo, when given.
    let rootState = Mutex<RootAccess?>(nil)
    let sudoPassword = Mutex<String?>(nil)
    /// The jump hosts this session travels through (`options.proxyJump`), first hop first. They
    /// end after this session has.
    let jumps: [SSHForwarder]

    private init(
        target: SSHTarget, options: SSHOptions, worker: SSHWorkerThread, session: ssh_session, fingerprint: String,
        jumps: [SSHForwarder]
    ) {
        self.target = target
        self.options = options
        self.worker = worker
        self.session = session
        self.hostKeyFingerprint = fingerprint
        self.jumps = jumps
    }

    deinit {
        let s = session
        let sftp = sftpHandle
        let w = worker
        let jumps = jumps
        if s != nil || !jumps.isEmpty {
            w.submit {
                if let sftp { sftp_free(sftp) }
                if let s { ssh_disconnect(s); ssh_free(s) }
                for j in jumps.reversed() { j.stopAndWait() }
            }
        }
        w.stop()
    }

    /// The `SHA256:...` host keys of the jump hosts, first hop first (all verified like the target's).
    public var jumpHostFingerprints: [(hop: SSHTarget, fingerprint: String)] { jumps.map { ($0.hop, $0.fingerprint) } }

    /// Connect, verify the host key per `options.hostKeyPolicy`, and authenticate. With
    /// `options.proxyJump`, each jump host is reached through the one before it (a direct-tcpip
    /// channel, as `ssh -J`), its host key verified and pinned in the same known_hosts file.
    public static func connect(to target: SSHTarget, options: SSHOptions) async throws -> SSHSession {
        var chain: [SSHForwarder] = []
        do {
            var hopOptions = options
            hopOptions.proxyJump = []
            hopOptions.auth = options.jumpHostAuth
            hopOptions.expectedHostKeys = []
            for hop in options.proxyJump {
                do {
                    let via = chain.last
                    let (s, fp, worker) = try await retryingDroppedHandshakes(hop, options) {
                        try await connectRaw(to: hop, options: hopOptions, via: via)
                    }
                    worker.stop()
                    chain.append(try SSHForwarder(session: s, hop: hop, fingerprint: fp))
                } catch let e as SSHError {
                    throw SSHError.viaJumpHost(hop: hop.description, e)
                }
            }
            let via = chain.last
            let (s, fp, worker) = try await retryingDroppedHandshakes(target, options) {
                try await connectRaw(to: target, options: options, via: via)
            }
            return SSHSession(target: target, options: options, worker: worker, session: s, fingerprint: fp, jumps: chain)
        } catch {
            // Off the pool: waiting for the teardown blocks.
            let hops = chain
            _ = try? await OffPool.run("ssh jump teardown") { for j in hops.reversed() { j.stopAndWait() } }
            throw error
        }
    }

    private static func retryingDroppedHandshakes<T>(
        _ target: SSHTarget, _ options: SSHOptions,
        _ body: () async throws -> T
    ) async throws -> T {
        // sshd drops handshakes beyond its MaxStartups at random: a connection it accepted and
        // closed before we were in (`handshakeFailed`) is, and only it is, worth another try.
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let e as SSHError {
                guard case .handshakeFailed(_, _, let reason) = e, attempt < 2 else {
                    throw e
                }
                attempt += 1
                options.logger.debug("ssh handshake dropped, retrying", metadata: ["target": "\(target)", "reason": "\(reason)"])
                try await Task.sleep(for: .milliseconds(200 * attempt * attempt))
            }
        }
    }

    /// One connect + verify + authenticate, directly or through `via` (a fresh channel each time),
    /// on a new session thread. Returns the session with its thread.
    private static func connectRaw(
        to target: SSHTarget, options: SSHOptions,
        via: SSHForwarder?
    ) async throws -> (ssh_session, String, SSHWorkerThread) {
        guard !target.host.isEmpty else { throw SSHError.invalidTarget("empty host name; pass an IP address or a host name") }
        guard (1...65535).contains(target.port) else { throw SSHError.invalidTarget("port \(target.port) is out of range 1-65535") }
        guard !target.user.isEmpty else { throw SSHError.invalidTarget("empty user name") }
        let fd = try await via?.open(host: target.host, port: target.port)
        let worker = SSHWorkerThread(name: "ssh \(target.host)")
        let timeout = SSHError.connectTimedOut(host: target.host, port: target.port, seconds: options.overallConnectDeadline.timeInterval)
        do {
            let (s, fp) = try await worker.run(
                deadline: options.overallConnectDeadline,
                timeoutError: timeout,
                onLateResult: { (late: Result<(ssh_session, String), Error>) in
                    if case .success(let (s, _)) = late { ssh_disconnect(s); ssh_free(s) }
                },
                { try Connector(target: target, options: options, socket: fd).connect() }
            )
            return (s, fp, worker)
        } catch {
            worker.stop()
            throw error
        }
    }

    /// Close the connection now (also done on deinit).
    public func close() async {
        _ = try? await worker.run { [self] in
            if let sftp = sftpHandle { sftp_free(sftp); sftpHandle = nil }
            if let s = session { ssh_disconnect(s); ssh_free(s); session = nil }
            for j in jumps.reversed() { j.stopAndWait() }
        }
    }

    /// A TCP connection from the last jump host to `host:port` (for a local port forward), bridged
    /// to `socket`, which the forward owns from now on. Only for sessions that have jump hosts.
    public func forwardFromLastJump(to host: String, port: Int, bridging socket: Int32) async throws {
        guard let last = jumps.last else {
            Glibc.close(socket)
            throw SSHError.invalidTarget("no jump host to forward from")
        }
        _ = try await last.open(host: host, port: port, bridging: socket)
    }

    /// Sends a keepalive; fails when the peer is gone.
    public func keepalive() async throws {
        try await worker.run { [self] in
            let s = try liveSession()
            if ssh_send_keepalive(s) != SSH_OK { throw SSHError.disconnected(host: target.host) }
        }
    }

    func liveSession() throws -> ssh_session {
        guard let s = session, ssh_is_connected(s) != 0 else { throw SSHError.disconnected(host: target.host) }
        return s
    }
}

/// The connect + verify + authenticate sequence, run on the session thread.
private struct Connector {
    let target: SSHTarget
    let options: SSHOptions
    /// A connected socket to use instead of connecting (a channel through a jump host).
    var socket: Int32?

    func connect() throws -> (ssh_session, String) {
        // A direct session's TCP connection is made here (`TCPConnect`), so that a failure before
        // it and sshd dropping it afterwards are told apart by where they happened. With the
        // user's ssh config (HostName, ProxyCommand) libssh connects, and where it failed is unknown.
        var fd = socket
        let direct = socket == nil
        if direct && !options.readUserConfig {
            switch TCPConnect.open(host: target.host, port: target.port, timeout: options.connectTimeout) {
            case .success(let s): fd = s
            case .failure(.timedOut):
                throw SSHError.connectTimedOut(host: target.host, port: target.port, seconds: options.connectTimeout.timeInterval)
            case .failure(.resolve(let host, let reason)):
                throw SSHError.connectFailed(host: target.host, port: target.port, reason: "failed to resolve hostname \(host) (\(reason))")
            case .failure(.connect(let code)):
                throw SSHError.connectFailed(
                    host: target.host, port: target.port, reason: Self.cleanConnectError(String(cString: strerror(code))))
            }
        }
        guard let s = ssh_new() else {
            if direct, let fd { Glibc.close(fd) }
            throw SSHError.connectFailed(host: target.host, port: target.port, reason: "out of memory")
        }
        do {
            try configure(s, socket: fd)
            let started = ContinuousClock.now
            if ssh_connect(s) != SSH_OK {
                let msg = LibSSH.lastError(s)
                let elapsed = (ContinuousClock.now - started).timeInterval
                // libssh gives up after connectTimeout: a failure that took that long is its timeout.
                if elapsed >= options.connectTimeout.timeInterval {
                    throw SSHError.connectTimedOut(
                        host: target.host, port: target.port, seconds: max(elapsed, options.connectTimeout.timeInterval))
                }
                guard fd != nil else {
                    throw SSHError.connectFailed(host: target.host, port: target.port, reason: Self.cleanConnectError(msg))
                }
                throw SSHError.handshakeFailed(host: target.host, port: target.port, reason: Self.cleanConnectError(msg))
            }
            if direct { Self.watchForDeadPeer(fd: ssh_get_fd(s), within: options.deadPeerTimeout) }
            let fp = try verifyHostKey(s)
            try authenticate(s)
            LibSSH.setTimeout(s, options.ioTimeout)
            options.logger.debug("ssh connected", metadata: ["target": "\(target)", "hostkey": "\(fp)"])
            return (s, fp)
        } catch {
            ssh_disconnect(s)
            ssh_free(s)
            throw error
        }
    }

    /// Without this, a cut network is never noticed while a command is silent: nothing is sent,
    /// so nothing fails. Keepalive probes start after a third of the timeout; unacknowledged data
    /// fails after the whole of it (TCP_USER_TIMEOUT).
    static func watchForDeadPeer(fd: Int32, within timeout: Duration) {
        guard fd >= 0 else { return }
        let total = max(Int32(timeout.timeInterval.rounded()), 3)
        var on: Int32 = 1
        var idle = max(total / 3, 1)
        var count: Int32 = 4
        var interval = max((total - idle) / count, 1)
        var userTimeout = UInt32(total) * 1000
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &userTimeout, socklen_t(MemoryLayout<UInt32>.size))
    }

    /// A system or libssh message as the middle of our line: lower-case first letter.
    static func cleanConnectError(_ msg: String) -> String {
        msg.isEmpty ? "unknown error" : msg.prefix(1).lowercased() + msg.dropFirst()
    }

    private func configure(_ s: ssh_session, socket: Int32?) throws {
        if let socket {
            // libssh uses it instead of connecting, and closes it with the session.
            var fd = socket
            ssh_options_set(s, SSH_OPTIONS_FD, &fd)
        }
        guard LibSSH.setString(s, SSH_OPTIONS_HOST, target.host) else {
            throw SSHError.invalidTarget("invalid host \"\(target.host)\": \(LibSSH.lastError(s))")
        }
        guard LibSSH.setPort(s, target.port) else { throw SSHError.invalidTarget("invalid port \(target.port)") }
        guard LibSSH.setString(s, SSH_OPTIONS_USER, target.user) else {
            throw SSHError.invalidTarget("invalid user \"\(target.user)\"")
        }
        // Decide on purpose: ~/.ssh/config and /etc/ssh/ssh_config are not read unless asked.
        LibSSH.setBool(s, SSH_OPTIONS_PROCESS_CONFIG, options.readUserConfig)
        // When libssh makes the TCP connection itself (the user's ssh config): no Nagle, as TCPConnect.
        LibSSH.setInt32(s, SSH_OPTIONS_NODELAY, 1)
        if options.readUserConfig { ssh_options_parse_config(s, nil) }
        // Only the file we were given decides what is known.
        let dir = PathText.parent(options.knownHostsPath)
        if !dir.isEmpty {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        _ = LibSSH.setString(s, SSH_OPTIONS_KNOWNHOSTS, options.knownHostsPath)
        _ = LibSSH.setString(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null")
        LibSSH.setTimeout(s, options.connectTimeout)
        LibSSH.setInt32(s, SSH_OPTIONS_LOG_VERBOSITY, Int32(SSH_LOG_NOLOG))
    }

    /// Returns the presented key's fingerprint once it is trusted.
    private func verifyHostKey(_ s: ssh_session) throws -> String {
        var key: ssh_key?
        guard ssh_get_server_publickey(s, &key) == SSH_OK, let k = key else {
            throw SSHError.hostKeyCheckFailed(host: target.host, reason: LibSSH.lastError(s))
        }
        defer { ssh_key_free(k) }
        let presented = LibSSH.fingerprint(k) ?? "unknown"
        let hostLabel = target.port == 22 ? target.host : "[\(target.host)]:\(target.port)"
        let expected = options.expectedHostKeys.map { HostKeyFingerprint.normalized($0) ?? $0 }
        if !expected.isEmpty && !expected.contains(presented) {
            throw SSHError.hostKeyNotExpected(host: hostLabel, expected: expected, presented: "\(presented) (\(LibSSH.keyTypeName(k)))")
        }
        let state = ssh_session_is_known_server(s)
        switch state {
        case SSH_KNOWN_HOSTS_OK:
            return presented
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            throw SSHError.hostKeyChanged(
                host: hostLabel, expected: pinnedFingerprints(hostLabel) ?? "a different key",
                presented: "\(presented) (\(LibSSH.keyTypeName(k)))", knownHosts: options.knownHostsPath)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            switch options.hostKeyPolicy {
            case .strict where expected.isEmpty:
                throw SSHError.hostKeyUnknown(host: hostLabel, fingerprint: presented, knownHosts: options.knownHostsPath)
            case .strict, .acceptNew:
                // accept-new, or a key with an expected fingerprint.
                if ssh_session_update_known_hosts(s) != SSH_OK {
                    throw SSHError.hostKeyCheckFailed(
                        host: hostLabel, reason: "cannot record the key in \(options.knownHostsPath): \(LibSSH.lastError(s))")
                }
                options.logger.debug("pinned host key", metadata: ["host": "\(hostLabel)", "fingerprint": "\(presented)"])
                return presented
            }
        default:
            throw SSHError.hostKeyCheckFailed(host: hostLabel, reason: "cannot read \(options.knownHostsPath): \(LibSSH.lastError(s))")
        }
    }

    /// The fingerprints pinned for `hostLabel` in our known_hosts file (unhashed entries, as
    /// libssh and `ssh -o HashKnownHosts=no` write them).
    private func pinnedFingerprints(_ hostLabel: String) -> String? {
        guard let text = try? String(contentsOfFile: options.knownHostsPath, encoding: .utf8) else { return nil }
        var found: [String] = []
        for line in text.textLines() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 3, !fields[0].hasPrefix("#"),
                fields[0].split(separator: ",").contains(where: { $0 == hostLabel })
            else { continue }
            var key: ssh_key?
            let type = ssh_key_type_from_name(fields[1])
            guard ssh_pki_import_pubkey_base64(fields[2], type, &key) == SSH_OK, let k = key else { continue }
            defer { ssh_key_free(k) }
            if let fp = LibSSH.fingerprint(k) { found.append("\(fp) (\(fields[1]))") }
        }
        return found.isEmpty ? nil : found.joined(separator: " or ")
    }

    private func authenticate(_ s: ssh_session) throws {
        let rcNone = ssh_userauth_none(s, nil)
        if rcNone == SSH_AUTH_SUCCESS.rawValue { return }
        if rcNone == SSH_AUTH_ERROR.rawValue {
            throw SSHError.handshakeFailed(host: target.host, port: target.port, reason: LibSSH.lastError(s))
        }
        var offered = ssh_userauth_list(s, nil)
        var tried: [String] = []
        var lastDetail: String?
        for method in options.auth {
            let rc: Int32
            switch method {
            case .privateKeyFile(let path, let passphrase):
                guard UInt32(bitPattern: offered) & SSH_AUTH_METHOD_PUBLICKEY != 0 else { continue }
                let key = try importKey(path: path, passphrase: passphrase)
                defer { ssh_key_free(key) }
                rc = ssh_userauth_publickey(s, nil, key)
            case .agent:
                guard UInt32(bitPattern: offered) & SSH_AUTH_METHOD_PUBLICKEY != 0,
                    let sock = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !sock.isEmpty
                else { continue }
                rc = ssh_userauth_agent(s, nil)
            case .defaultKeys:
                guard UInt32(bitPattern: offered) & SSH_AUTH_METHOD_PUBLICKEY != 0 else { continue }
                rc = ssh_userauth_publickey_auto(s, nil, nil)
            case .password(let pw):
                let mask = UInt32(bitPattern: offered)
                if mask & SSH_AUTH_METHOD_PASSWORD != 0 {
                    rc = ssh_userauth_password(s, nil, pw)
                } else if mask & SSH_AUTH_METHOD_INTERACTIVE != 0 {
                    rc = keyboardInteractive(s, password: pw)
                } else {
                    continue
                }
            }
            tried.append(method.label)
            if rc == SSH_AUTH_SUCCESS.rawValue { return }
            if rc == SSH_AUTH_ERROR.rawValue {
                lastDetail = LibSSH.lastError(s)
                if ssh_is_connected(s) == 0 { break }
            }
            // PARTIAL or DENIED: the server may now offer other methods.
            offered = ssh_userauth_list(s, nil)
        }
        throw SSHError.authenticationFailed(
            user: target.user, host: target.host, tried: tried,
            offered: LibSSH.methodNames(offered), detail: lastDetail)
    }

    private func importKey(path: String, passphrase: String?) throws -> ssh_key {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw SSHError.keyFileUnreadable(
                path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        var key: ssh_key?
        let rc = ssh_pki_import_privkey_file(path, passphrase, nil, nil, &key)
        guard rc == SSH_OK, let k = key else {
            throw SSHError.keyNotUsable(path: path, passphraseGiven: passphrase != nil)
        }
        return k
    }

    private func keyboardInteractive(_ s: ssh_session, password: String) -> Int32 {
        var rc = ssh_userauth_kbdint(s, nil, nil)
        var rounds = 0
        while rc == SSH_AUTH_INFO.rawValue && rounds < 5 {
            rounds += 1
            let n = ssh_userauth_kbdint_getnprompts(s)
            for i in 0..<max(n, 0) {
                _ = ssh_userauth_kbdint_setanswer(s, UInt32(i), password)
            }
            rc = ssh_userauth_kbdint(s, nil, nil)
        }
        return rc
    }
}
