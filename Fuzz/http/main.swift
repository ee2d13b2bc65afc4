// Fuzz target: HTTPResponseParser (and the ChunkedDecoder under it) on what a daemon sends.
// The input is a raw response; its length picks the mode (answer to HEAD or not) and how it is
// cut into pieces. Fed in pieces, it must parse to the same response as fed in one go.
import Foundation

private func parse(_ input: ArraySlice<UInt8>, head: Bool, step: Int) -> Result<HTTPResponse, HTTPParseError> {
    var p = HTTPResponseParser(maxBodySize: 1 << 16, maxHeadSize: 1 << 12, isHeadRequest: head)
    do {
        var rest = input
        while !rest.isEmpty {
            let n = step == 0 ? rest.count : min(step, rest.count)
            try p.feed(rest.prefix(n))
            rest = rest.dropFirst(n)
        }
        return .success(try p.finish())
    } catch {
        return .failure(error)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let head = size % 11 == 0
    let step = size % 13 + 1
    let input = bytes[...]
    let whole = parse(input, head: head, step: 0)
    let pieces = parse(input, head: head, step: step)
    switch (whole, pieces) {
    case (.success(let a), .success(let b)):
        check(a == b, "fed whole and in pieces of \(step), the same bytes parse differently")
        check(a.body.count <= 1 << 16, "body beyond the limit")
        check((100...999).contains(a.status), "status \(a.status) out of range")
    case (.failure(let e), .success), (.success, .failure(let e)):
        // Only the head size cap may trip on one and not the other (it is checked as the head grows).
        check(e.description.hasPrefix("response head larger than"),
                     "fed whole and in pieces of \(step): one parses, the other fails with \(e)")
    case (.failure, .failure):
        break
    }
    return 0
}
