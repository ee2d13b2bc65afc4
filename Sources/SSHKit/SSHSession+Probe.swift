import CLibSSH

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
}
