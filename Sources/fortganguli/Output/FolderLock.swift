import Foundation

/// An exclusive lock on an output folder, so that two processes never write one folder at once.
///
/// The lock is `flock(LOCK_EX | LOCK_NB)` on `DIR/.fortganguli.lock`, which holds the owner's PID.
/// A second writer is refused at once (no waiting) with the holder's PID. The kernel drops the
/// lock when the holder exits, however it exits (kill -9 included), so a stale lock never blocks a
/// rerun. The lock file itself is never deleted while others may use it (deleting it would let a
/// third process lock a fresh inode); after taking the lock we check that the path still names the
/// inode we locked, and retry otherwise. Locks are held until the process exits and are
/// re-entrant within one process (one folder may be opened twice, e.g. by `reproduce`).
enum FolderLock {
    static let fileName = ".fortganguli.lock"
    nonisolated(unsafe) private static var held: [String: Int32] = [:]
    private static let mutex = NSLock()

    /// Takes the lock of `folder` (which must exist), or throws a one-line error naming the holder.
    static func acquire(_ folder: URL, shownAs path: String) throws {
        let key = folder.standardizedFileURL.path
        mutex.lock(); defer { mutex.unlock() }
        if held[key] != nil { return }
        let lockPath = key + "/" + fileName
        for _ in 0..<5 {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw ToolError("cannot lock output folder \(path) (\(String(cString: strerror(errno)))); choose a writable --output")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let holder = readPID(fd)
                close(fd)
                throw ToolError("output folder \(path) is being written by another fortganguli process\(holder.map { " (PID \($0))" } ?? ""); wait for it to finish or choose another --output")
            }
            // The path must still name the inode we locked (a folder removed and re-created meanwhile).
            var onDisk = stat(), locked = stat()
            if stat(lockPath, &onDisk) == 0, fstat(fd, &locked) == 0, onDisk.st_ino == locked.st_ino, onDisk.st_dev == locked.st_dev {
                let pid = "\(getpid())\n"
                _ = ftruncate(fd, 0)
                _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
                held[key] = fd
                return
            }
            close(fd)
        }
        throw ToolError("cannot lock output folder \(path): its lock file keeps changing; is another process deleting it?")
    }

    /// Releases the lock of a folder this process is about to delete (its own empty output).
    static func release(_ folder: URL) {
        let key = folder.standardizedFileURL.path
        mutex.lock(); defer { mutex.unlock() }
        if let fd = held.removeValue(forKey: key) { close(fd) }
    }

    private static func readPID(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
