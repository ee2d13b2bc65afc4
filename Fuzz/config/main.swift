// Fuzz target: stored records (machines/NAME/config.json) as `Store` reads them; a record may
// have been edited by hand, written by another version or copied from another computer.
// One that decodes must encode and decode again to the same record; RecordDecoder's reading,
// where it gives one, must be JSONDecoder's.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let input = Data(bytes: data, count: size)
    // The hand-written reader agrees with JSONDecoder whenever it takes a record.
    if let fast = RecordDecoder.decode(input) {
        check(
            fast == (try? Store.decodeCodable(input, name: "web1", path: "machines/web1/config.json")),
            "RecordDecoder reads a record otherwise than JSONDecoder")
    }
    guard let config = try? Store.decode(input, name: "web1", path: "machines/web1/config.json") else { return 0 }
    _ = config.engineURL
    _ = config.clientURL
    let again: MachineConfig
    do { again = try Store.decode(try Store.encode(config), name: "web1", path: "machines/web1/config.json") } catch {
        fatalError("a record that decodes does not decode again once written: \(error)")
    }
    // Dates keep whole seconds once written: compare what is written.
    check((try? Store.encode(again)) == (try? Store.encode(config)), "a record written and read again is not the same record")
    return 0
}
