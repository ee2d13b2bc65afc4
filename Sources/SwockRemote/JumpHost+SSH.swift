import SSHKit
import SwockStore

extension JumpHost {
    public func target(defaultUser: String) -> SSHTarget {
        SSHTarget(host: host, port: port, user: user ?? defaultUser)
    }
}
