// Fuzz target: ChunkedDecoder on a chunked body. Decoding in one go and byte by byte must agree
// (data out, bytes used, done or not), and the output never passes the limit.
import Foundation

private func decode(_ input: [UInt8], step: Int) -> (out: [UInt8], used: Int, done: Bool, error: String?) {
    var d = ChunkedDecoder()
    var out: [UInt8] = []
    var used = 0
    do {
        var at = 0
        while at < input.count, !d.isDone {
            let n = step == 0 ? input.count - at : min(step, input.count - at)
            used += try d.decode(input[at..<(at + n)], into: &out, limit: 4096)
            at += n
        }
    } catch {
        return (out, used, d.isDone, error.description)
    }
    return (out, used, d.isDone, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = decode(input, step: 0)
    let bytewise = decode(input, step: 1)
    check(whole.out.count <= 4096 && bytewise.out.count <= 4096, "output beyond the limit")
    check(whole.error == bytewise.error, "whole: \(whole.error ?? "ok"), byte by byte: \(bytewise.error ?? "ok")")
    if whole.error == nil {
        check(whole.out == bytewise.out && whole.used == bytewise.used && whole.done == bytewise.done,
                     "decoding in one go and byte by byte disagree")
        check(whole.used <= input.count, "used more bytes than given")
    }
    return 0
}
