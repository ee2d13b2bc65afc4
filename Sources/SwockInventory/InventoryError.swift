import SwockStore
import SwockSupport

/// Why an export or an import did not happen: one line each, naming what is wrong (what to do
/// next, in the command line's words, is added by SwockCommands from the case). When one of
/// these is thrown the store (and the output file) are as they were.
public enum InventoryError: Error, Equatable, CustomStringConvertible, Sendable {
    case notReady(String)
    case missingFile(machine: String, file: String)
    case noCAKey(machine: String)
    case encryptedNeedsPassphrase(file: String)
    case notSealed(file: String)
    case extraSANs(machine: String, sans: [String])
    case claimsStoreCA(machine: String, address: String)
    case notAnExport(file: String, reason: String)
    case damaged(file: String, reason: String)
    case cannotDecrypt(file: String, reason: String)
    case unknownRename(String, file: String)
    case badRename(String)
    case clash(String)
    case duplicateTarget(String)
    case tooManyForDockerContext

    public var description: String {
        switch self {
        case .notReady(let name):
            return "machine \"\(name)\" is not fully provisioned, so it cannot be exported"
        case .missingFile(let machine, let file):
            return "machine \"\(machine)\" has no \(file) in the store"
        case .noCAKey(let machine):
            return
                "the key of machine \"\(machine)\"'s CA is not in this store (the store's CA was renewed since, or the machine was imported without it)"
        case .encryptedNeedsPassphrase(let file):
            return "\(file) is encrypted and no passphrase was given"
        case .notSealed(let file):
            return
                "\(file) is not sealed with a passphrase, though one was given: anyone could have written it, so it was refused and nothing was imported; import it without a passphrase only if you trust where it came from"
        case .extraSANs(let machine, let sans):
            let list = sans.map { "\"\(StoreError.printable($0))\"" }.joined(separator: ", ")
            return
                "machine \"\(StoreError.printable(machine))\" in the archive asks for extra names in its server certificate (\(list)), which provision and regenerate-certs would sign; nothing was imported"
        case .claimsStoreCA(let machine, let address):
            return
                "machine \"\(StoreError.printable(machine))\" in the archive claims this store's own CA, so provision and regenerate-certs would sign certificates for its address \"\(StoreError.printable(address))\" (and its names) with that CA; nothing was imported"
        case .notAnExport(let file, let reason):
            return "\(file) is not an export archive (\(reason))"
        case .damaged(let file, let reason):
            return "\(file) is damaged (\(reason)); nothing was imported: export it again"
        case .cannotDecrypt(let file, let reason):
            return "\(file): \(reason); nothing was imported"
        case .unknownRename(let old, let file):
            return "\(file) holds no machine \"\(old)\" to rename"
        case .badRename(let text):
            return "rename \"\(text)\": expected OLD=NEW"
        case .clash(let name):
            return "machine \"\(name)\" already exists in this store, so nothing was imported"
        case .duplicateTarget(let name):
            return "two machines of the archive would both be imported as \"\(name)\""
        case .tooManyForDockerContext:
            return "a docker context holds one endpoint, so it is exported for one machine; name exactly one"
        }
    }
}

extension InventoryError: CodedError {
    public var code: ErrorCode {
        switch self {
        case .notReady: return "inventory.not-ready"
        case .missingFile: return "inventory.missing-file"
        case .noCAKey: return "inventory.no-c-a-key"
        case .encryptedNeedsPassphrase: return "inventory.encrypted-needs-passphrase"
        case .notSealed: return "inventory.not-sealed"
        case .extraSANs: return "inventory.extra-s-a-ns"
        case .claimsStoreCA: return "inventory.claims-store-c-a"
        case .notAnExport: return "inventory.not-an-export"
        case .damaged: return "inventory.damaged"
        case .cannotDecrypt: return "inventory.cannot-decrypt"
        case .unknownRename: return "inventory.unknown-rename"
        case .badRename: return "inventory.bad-rename"
        case .clash: return "inventory.clash"
        case .duplicateTarget: return "inventory.duplicate-target"
        case .tooManyForDockerContext: return "inventory.too-many-for-docker-context"
        }
    }
}
