// Shared by every fuzz target: a failed check stops the run with its message (precondition's
// message is dropped in -O builds, and the message is what names the finding).
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
