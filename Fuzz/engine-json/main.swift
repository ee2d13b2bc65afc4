// Fuzz target: what swock-machine decodes from a daemon's answers: /version, /info and
// /containers/json bodies, the Server header (engine version) and API version negotiation.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let body = Data(bytes: data, count: size)
    let decoder = JSONDecoder()
    if let v = try? decoder.decode(EngineVersion.self, from: body) {
        let chosen = APIVersion.negotiate(serverMax: v.apiVersion, serverMin: v.minAPIVersion, override: nil)
        check(!chosen.isEmpty, "negotiated an empty API version")
        // The chosen version is never above what this client speaks, unless the daemon's minimum is.
        if let min = v.minAPIVersion, APIVersion.normalized(min) != nil,
           APIVersion.compare(min, APIVersion.clientMaximum) == .orderedDescending {
        } else {
            check(APIVersion.compare(chosen, APIVersion.clientMaximum) != .orderedDescending,
                         "negotiated \(chosen), above the client's \(APIVersion.clientMaximum)")
        }
    }
    _ = try? decoder.decode(EngineInfo.self, from: body)
    _ = try? decoder.decode([ContainerSummary].self, from: body)
    // The same bytes as header text and version strings.
    let text = String(decoding: body, as: UTF8.self)
    if let v = Ping.engineVersion(fromServerHeader: text) {
        check(!v.isEmpty && !v.contains(" "), "engine version \"\(v)\" from a Server header")
    }
    let parts = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    let a = parts[0], b = parts.count > 1 ? parts[1] : "1.24"
    check(APIVersion.compare(a, a) == .orderedSame, "\(a) is not the same as itself")
    let ab = APIVersion.compare(a, b), ba = APIVersion.compare(b, a)
    check((ab == .orderedSame) == (ba == .orderedSame) && (ab == .orderedAscending) == (ba == .orderedDescending),
                 "comparing \(a) and \(b) is not antisymmetric")
    _ = APIVersion.negotiate(serverMax: a, serverMin: parts.count > 2 ? parts[2] : nil, override: nil)
    return 0
}
