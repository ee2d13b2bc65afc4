/// Machine names: `^[a-zA-Z0-9][a-zA-Z0-9.-]*$`, at most 63 characters; they name a directory
/// in the store, a docker context and often a host name, so nothing else is allowed.
public enum MachineName {
    public static func validate(_ name: String) throws {
        guard !name.isEmpty else { throw StoreError.invalidName(name, reason: "it is empty") }
        guard name.count <= 63 else { throw StoreError.invalidName(name, reason: "it is longer than 63 characters") }
        let ok: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber) }
        guard let first = name.first, ok(first) else {
            throw StoreError.invalidName(name, reason: "it must start with a letter or a digit")
        }
        if let bad = name.first(where: { !(ok($0) || $0 == "." || $0 == "-") }) {
            throw StoreError.invalidName(name, reason: "\"\(StoreError.printable(String(bad)))\" is not allowed")
        }
        guard name != "." && name != ".." else { throw StoreError.invalidName(name, reason: "it is reserved") }
    }
}
