// Fuzz target: fleet files (`create -f`), YAML or JSON that someone else may have written.
// Yams (and libyaml) are linked from the debug build: what is fuzzed, instrumented, is our
// layer: FleetFile's checks and the create requests made from an accepted file.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let file = try? FleetFile.parse(text, source: "fleet.yaml") else { return 0 }
    check(!file.machines.isEmpty, "a fleet file without machines was accepted")
    for m in file.machines {
        check((try? MachineName.validate(m.name ?? "")) != nil, "machine name \"\(m.name ?? "")\" was accepted")
    }
    guard let requests = try? file.requests(environment: ["APP_SUDO_PW": "pw"]) else { return 0 }
    check(requests.count == file.machines.count, "\(file.machines.count) machines, \(requests.count) create requests")
    for (r, m) in zip(requests, file.machines) {
        check(r.name == m.name, "the request for \"\(m.name ?? "")\" is named \"\(r.name)\"")
    }
    return 0
}
