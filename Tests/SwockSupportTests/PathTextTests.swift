import SwockSupport
import Testing

@Suite struct PathTextTests {
    @Test(arguments: [
        ("/a/b", "/a", "b"), ("/a", "/", "a"), ("a/b", "a", "b"), ("b", ".", "b"), ("ab", ".", "ab"),
        ("a/b/", "a", "b"), ("/", "/", "/"), ("/etc/docker/swock/server-key.pem", "/etc/docker/swock", "server-key.pem"),
        ("x", ".", "x"), ("./x", ".", "x"),
    ])
    func splits(path: String, parent: String, last: String) {
        #expect(PathText.parent(path) == parent)
        #expect(PathText.lastComponent(path) == last)
    }
}
