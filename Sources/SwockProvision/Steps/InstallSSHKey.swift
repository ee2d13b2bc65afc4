import Foundation
import SSHKit
import SwockRemote
import SwockStore

/// install-ssh-key: a host reached with a password gets a generated key (kept in the store) in
/// the user's authorized_keys; later sessions use the key.
extension Provisioner {
    func installGeneratedKey(config: inout MachineConfig, ssh: any RemoteHost) async throws {
        let keyRel = Store.generatedKeyPath(config.name)
        let keyAbs = store.resolve(keyRel)
        let comment = "swock-machine \(config.name)"
        let publicLine: String
        if FileManager.default.fileExists(atPath: keyAbs) {
            publicLine = try SSHKeyGenerator.publicKeyLine(privateKeyPath: keyAbs, comment: comment)
        } else {
            let key = try SSHKeyGenerator.generateEd25519(comment: comment)
            try AtomicFile.write(key.privateKey, to: keyAbs, mode: 0o600)
            publicLine = key.publicLine
        }
        // The public key goes over stdin; append only when it is not there yet.
        try await ssh.run(Scripts.authorizeKey.command(), stdin: .data(Data(publicLine.utf8)), timeout: limits.authorizedKey)
        config.ssh.keyPath = keyRel
        config.ssh.authMode = .generatedKey
    }
}
