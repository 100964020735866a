import Foundation
import Reports

/// A one-line error of the tool: printed as `Error: message`, exit status 1.
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// An output folder whose result appears as a whole or not at all.
///
/// Opening it takes the folder's lock (`FolderLock`: a second writer is refused), finishes or
/// removes what a killed writer left (`recover`), and checks that the folder holds this command's
/// results (`FolderRecord`). Files are written into a private staging folder `.partial-PID-…`;
/// `commit()` then, in order:
/// 1. writes the commit plan and renames the staging folder to `.commit-…` (from here on the new
///    result is complete on disk and any later run rolls it forward);
/// 2. removes the old result's JSON summary (its index: summary.json, theory.json, compare.json,
///    reproduce.json) and the old result's files that the new one does not rewrite;
/// 3. moves every other new file into place, then the new index last.
/// So while a folder has its index file, every file beside it belongs to that index's result; a
/// kill in step 2 or 3 leaves no index, and the next run in the folder completes the move before
/// anything else. A run that fails or is interrupted removes its staging folder, and the folder
/// itself if this run created it.
final class OutputFolder {
    let url: URL
    private let staging: URL
    private let createdFolder: Bool
    private var staged: [String] = []
    private var committed = false
    private var token: UUID?

    /// Creates the folder if needed, locks it and proves it writable before any work is done.
    init(_ path: String) throws {
        url = URL(fileURLWithPath: path).standardizedFileURL
        createdFolder = try OutputFolder.prepare(url, shownAs: path)
        staging = url.appendingPathComponent(".partial-\(Invocation.id)")
        if mkdir(staging.path, 0o755) != 0 {
            throw ToolError("cannot write to output folder \(path) (\(String(cString: strerror(errno)))); choose a writable --output")
        }
        let (staging, url, created) = (staging, url, createdFolder)
        token = Interruption.register { OutputFolder.discard(staging: staging, folder: url, created: created) }
    }

    /// Creates (`mkdir -p`), locks, recovers and claims `url` for this command; true if it was created.
    static func prepare(_ url: URL, shownAs path: String, command: String = Invocation.command) throws -> Bool {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let existed = fm.fileExists(atPath: url.path, isDirectory: &isDir)
        if existed && !isDir.boolValue { throw ToolError("output path \(path) is a file, not a folder; choose another --output") }
        if existed { try FolderRecord.check(url, shownAs: path, command: command) }   // before the lock file is made
        else { try makeDirectories(url, shownAs: path) }
        do {
            try FolderLock.acquire(url, shownAs: path)
            try recover(url)
            try FolderRecord.claim(url, shownAs: path, command: command)
        } catch {
            if !existed { FolderLock.release(url); try? fm.removeItem(at: url) }
            throw error
        }
        return !existed
    }

    /// `mkdir -p` with the system's own reason on failure (e.g. "Not a directory").
    static func makeDirectories(_ url: URL, shownAs path: String) throws {
        var current = ""
        for component in url.pathComponents {
            current = current.isEmpty ? component : (current == "/" ? "/" + component : current + "/" + component)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: current, isDirectory: &isDir) {
                if !isDir.boolValue { throw ToolError("cannot create output folder \(path): \(current) is a file; choose another --output") }
                continue
            }
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw ToolError("cannot create output folder \(path) (\(String(cString: strerror(errno)))); choose a writable --output")
            }
        }
    }

    /// Under the lock, whatever a dead writer left: commits it had marked complete are rolled
    /// forward; staging folders (never complete) and temporary files (`.NAME.tmp-PID`,
    /// `.NAME.partial-…` of checkpoints) are removed. Any such leftover is a dead writer's,
    /// because a live one would hold the lock.
    static func recover(_ folder: URL) throws {
        let fm = FileManager.default
        for name in ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() {
            let item = folder.appendingPathComponent(name)
            if name.hasPrefix(".commit-") { try rollForward(item, into: folder) }
            else if name.hasPrefix(".") && (name.contains(".partial-") || name.contains(".tmp-")) { try? fm.removeItem(at: item) }
        }
    }

    /// Writes a file into the staging area.
    func write(_ name: String, _ data: Data) throws {
        precondition(!name.contains("/") && !name.hasPrefix("."), "result file names are plain: \(name)")
        do { try data.write(to: staging.appendingPathComponent(name)) } catch {
            throw FileFailure(path: url.appendingPathComponent(name).path, code: OutputFolder.posixCode(error))
        }
        if !staged.contains(name) { staged.append(name) }
    }

    /// Makes the staged files the folder's result (see the type's documentation for the order).
    func commit() throws {
        try Interruption.critical {
            let record = FolderRecord.read(url)
            let sameRun = record?.invocation == Invocation.id
            let previous = record?.files ?? []
            let plan = CommitPlan(index: staged.first { $0.hasSuffix(".json") }, files: staged,
                                  replaces: sameRun ? [] : previous.filter { !staged.contains($0) },
                                  recordFiles: sameRun ? previous + staged.filter { !previous.contains($0) } : staged,
                                  command: record?.command ?? Invocation.command)
            try AtomicFile.write(plan.json.data, to: staging.appendingPathComponent(CommitPlan.fileName))
            let marked = url.appendingPathComponent(".commit-\(Invocation.id)")
            CrashPoint.reached("commit: staged, not marked")
            guard rename(staging.path, marked.path) == 0 else { throw FileFailure(path: marked.path, code: errno) }
            CrashPoint.reached("commit: marked complete")
            try OutputFolder.rollForward(marked, into: url)
            committed = true
        }
        if let token { Interruption.unregister(token) }
    }

    /// Steps 2 and 3 of a commit, then the record; each step can be repeated, so a commit cut
    /// short at any point is finished by running this again.
    static func rollForward(_ marked: URL, into folder: URL) throws {
        let fm = FileManager.default
        guard let plan = CommitPlan.read(marked) else { try? fm.removeItem(at: marked); return }
        func pending(_ name: String) -> Bool { fm.fileExists(atPath: marked.appendingPathComponent(name).path) }
        func move(_ name: String) throws {
            if rename(marked.appendingPathComponent(name).path, folder.appendingPathComponent(name).path) != 0 {
                throw FileFailure(path: folder.appendingPathComponent(name).path, code: errno)
            }
            CrashPoint.reached("commit: moved \(name)")
        }
        if let index = plan.index, pending(index) {
            unlink(folder.appendingPathComponent(index).path)
            CrashPoint.reached("commit: old \(index) removed")
        }
        for name in plan.replaces where fm.fileExists(atPath: folder.appendingPathComponent(name).path) {
            unlink(folder.appendingPathComponent(name).path)
            CrashPoint.reached("commit: old \(name) removed")
        }
        for name in plan.files where name != plan.index && pending(name) { try move(name) }
        if let index = plan.index, pending(index) { try move(index) }
        try FolderRecord(command: plan.command, invocation: plan.invocation, files: plan.recordFiles).write(to: folder)
        CrashPoint.reached("commit: record written")
        try? fm.removeItem(at: marked)
    }

    /// Removes the staging area, and the folder if this run created it and committed nothing.
    func abandon() {
        guard !committed else { return }
        OutputFolder.discard(staging: staging, folder: url, created: createdFolder)
        if let token { Interruption.unregister(token) }
        committed = true
    }

    fileprivate static func discard(staging: URL, folder: URL, created: Bool) {
        let fm = FileManager.default
        try? fm.removeItem(at: staging)
        if created { removeIfEmpty(folder) }
    }

    /// Deletes a folder this run created if it holds nothing but the tool's own hidden files.
    static func removeIfEmpty(_ folder: URL) {
        let fm = FileManager.default
        let left = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        guard left.allSatisfy({ $0 == FolderLock.fileName || $0 == FolderRecord.fileName || $0.hasPrefix(".partial-") }) else { return }
        FolderLock.release(folder)
        try? fm.removeItem(at: folder)
    }

    static func posixCode(_ error: Error) -> Int32 {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain { return Int32(underlying.code) }
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        switch ns.code {
        case CocoaError.fileWriteOutOfSpace.rawValue: return ENOSPC
        case CocoaError.fileWriteNoPermission.rawValue, CocoaError.fileReadNoPermission.rawValue: return EACCES
        case CocoaError.fileWriteVolumeReadOnly.rawValue: return EROFS
        case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: return ENOENT
        default: return EIO
        }
    }

    deinit { abandon() }
}

/// The plan a commit writes before it is marked complete: what it moves, which old files it removes.
struct CommitPlan {
    static let fileName = ".plan.json"
    var index: String?
    var files: [String]
    var replaces: [String]
    var recordFiles: [String]
    var command: String
    var invocation = Invocation.id

    var json: JSON {
        .object([("index", index.map { .string($0) } ?? .null), ("files", .array(files.map { .string($0) })),
                 ("replaces", .array(replaces.map { .string($0) })), ("record_files", .array(recordFiles.map { .string($0) })),
                 ("command", .string(command)), ("invocation", .string(invocation))])
    }

    static func read(_ folder: URL) -> CommitPlan? {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent(fileName)),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let files = o["files"] as? [String], let command = o["command"] as? String else { return nil }
        return CommitPlan(index: o["index"] as? String, files: files, replaces: o["replaces"] as? [String] ?? [],
                          recordFiles: o["record_files"] as? [String] ?? files, command: command,
                          invocation: o["invocation"] as? String ?? "")
    }
}
