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
        await SwockMachine.mainWithExamplesLast()
    }
}
