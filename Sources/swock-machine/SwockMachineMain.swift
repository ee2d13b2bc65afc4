import Foundation
import SwockCommands

@main
struct SwockMachineMain {
    static func main() async {
        // Start from a clean signal state whatever our parent left us: nothing blocked, and a
        // peer that hangs up gives an error instead of killing the process.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        signal(SIGPIPE, SIG_IGN)
        // glibc gives each thread that allocates its own malloc arena, up to 8 per core: a fleet
        // command's session threads then hold freed megabytes in a dozen arenas. Four are plenty
        // for threads that mostly wait on sockets (`exec --all` with 1 MB of output per host on
        // 32 hosts: peak RSS 53 -> 42 MB, no slower). MALLOC_ARENA_MAX, when set, decides.
        if getenv("MALLOC_ARENA_MAX") == nil { limitMallocArenas(4) }
        await SwockMachine.mainWithExamplesLast()
    }
}

/// glibc's `mallopt(M_ARENA_MAX, n)` (malloc.h is not imported into Swift).
private func limitMallocArenas(_ n: Int32) {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let M_ARENA_MAX: Int32 = -8
    guard let sym = dlsym(nil, "mallopt") else { return }
    _ = unsafeBitCast(sym, to: Mallopt.self)(M_ARENA_MAX, n)
}
