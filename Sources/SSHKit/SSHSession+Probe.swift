import CLibSSH
import Glibc

extension SSHSession {
    /// Proves the connection still carries: opens a session channel (a round trip to the
    /// server) and closes it. Throws `connectionLost`/`disconnected` when the peer is gone, e.g.
    /// a host rebooted under a connection held open (the connection keeper's check before reuse).
    public func probe() async throws {
        try await worker.run { [self] in
            let s = try liveSession()
            guard let channel = ssh_channel_new(s) else { throw channelError(s) }
            defer { ssh_channel_free(channel) }
            guard ssh_channel_open_session(channel) == SSH_OK else { throw channelError(s) }
            ssh_channel_close(channel)
        }
    }

    /// Whether anything came in on the idle connection (its socket is readable or hung up: the
    /// server closed it, a killed sshd's end, or a packet nobody asked for). A free check, on the
    /// session's own thread, that tells the keeper to prove a recently used connection before it
    /// reuses it, instead of running a command on one that is already gone.
    public func peerSpoke() async -> Bool {
        (try? await worker.run { [self] () throws -> Bool in
            let s = try liveSession()
            let fd = ssh_get_fd(s)
            guard fd >= 0 else { return true }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&p, 1, 0) != 0
        }) ?? true
    }
}
