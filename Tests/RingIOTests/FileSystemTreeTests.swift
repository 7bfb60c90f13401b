#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport
@testable import RingIO

/// `FileSystem.removeTree` removes a symbolic link, never what it names:
/// it followed links to directories (stat), so removing a tree holding a
/// link to a directory emptied that directory (then failed on rmdir of
/// the link). `resolvedPath` of a path whose tail does not exist yet.
@Suite struct FileSystemTreeTests {
    @Test func removeTreeRemovesALinkNotWhatItNames() throws {
        let dir = try TempDir()
        let kept = dir.sub("kept")
        try FileSystem.createDirectory(kept + "/inner")
        let tree = dir.sub("tree")
        try FileSystem.createDirectory(tree)
        try #require(symlink(kept, tree + "/link") == 0)
        try FileSystem.removeTree(tree)
        #expect(!FileSystem.exists(tree))
        #expect(FileSystem.isDirectory(kept + "/inner"))
        // A link given as the tree itself: the link goes, the directory stays.
        let link = dir.sub("link")
        try #require(symlink(kept, link) == 0)
        try FileSystem.removeTree(link)
        #expect(!FileSystem.isSymbolicLink(link) && FileSystem.isDirectory(kept + "/inner"))
    }

    @Test func resolvedPathResolvesLinksAndAMissingTail() throws {
        let dir = try TempDir()
        let real = try FileSystem.resolvedPath(dir.path)
        try FileSystem.createDirectory(dir.sub("a"))
        try #require(symlink(dir.sub("a"), dir.sub("b")) == 0)
        #expect(try FileSystem.resolvedPath(dir.sub("b")) == real + "/a")
        #expect(try FileSystem.resolvedPath(dir.sub("b/new/x")) == real + "/a/new/x")
        #expect(try FileSystem.resolvedPath(dir.sub("missing/../a")) == real + "/a")
        #expect(try FileSystem.resolvedPath(dir.sub("b/.")) == real + "/a")
    }
}
