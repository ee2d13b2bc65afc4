import Foundation

/// Writes all of `data` to `fd`: a short write is continued, EINTR retried. Returns false at the
/// first other failure, `errno` left as that write set it (for `LocalFileError.errnoText()`), so
/// each caller wraps it in its own error: the store's, a download's, QMP's.
public func writeAll(_ fd: Int32, _ data: Data) -> Bool {
    data.withUnsafeBytes { raw in
        var off = 0
        while off < raw.count {
            let n = write(fd, raw.baseAddress! + off, raw.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }
}
