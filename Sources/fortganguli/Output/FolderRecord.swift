import Foundation
import Reports

/// What this process is: the subcommand the user ran (set once by `FortGanguliCommand.main`) and
/// an identifier of this invocation, recorded with the files it commits.
enum Invocation {
    nonisolated(unsafe) static var command = "fortganguli"
    static let id = "\(getpid())-\(UUID().uuidString.prefix(8))"
}

/// The record `DIR/.fortganguli.json` of which command owns an output folder and which files its
/// last committed result consists of. It lets a command refuse a folder that holds another
/// command's results (instead of mixing two kinds of results in one folder), and lets a new result
/// remove the files of an older result that it does not rewrite (e.g. the gram.npy of an earlier
/// `measure --write-gram`), so that a folder always holds exactly one result.
struct FolderRecord {
    static let fileName = ".fortganguli.json"
    /// Commands that may add their table to a folder another command owns: `trajectory` writes
    /// trajectory.csv into the run folder of `train` by default.
    static let guests: [String: Set<String>] = ["trajectory": ["train"]]

    var command: String
    var invocation: String
    var files: [String]

    static func read(_ folder: URL) -> FolderRecord? {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent(fileName)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let command = object["command"] as? String else { return nil }
        return FolderRecord(command: command, invocation: object["invocation"] as? String ?? "",
                            files: object["files"] as? [String] ?? [])
    }

    func write(to folder: URL) throws {
        let json = JSON.object([("command", .string(command)), ("invocation", .string(invocation)),
                                ("files", .array(files.map { .string($0) }))])
        try AtomicFile.write(json.data, to: folder.appendingPathComponent(FolderRecord.fileName))
    }

    /// Checks that `command` may write `folder`: a folder whose record names another command is
    /// refused, and so is a folder without a record that holds visible files (it was not written
    /// by this tool, or by an older version of it); sub-folders alone are fine. Reads only, so it
    /// runs before the lock is taken and again under it.
    static func check(_ folder: URL, shownAs path: String, command: String) throws {
        if let record = read(folder) {
            guard record.command == command || guests[command, default: []].contains(record.command) else {
                throw ToolError("output folder \(path) holds results of `fortganguli \(record.command)`; give `\(command)` another --output")
            }
            return
        }
        let fm = FileManager.default
        let visibleFiles = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isDir) && !isDir.boolValue
        }
        if let first = visibleFiles.sorted().first {
            throw ToolError("output folder \(path) holds files that fortganguli \(command) did not write (e.g. \(first)); choose an empty or new --output")
        }
    }

    /// Under the folder's lock: checks again and records `command` as the owner of a folder that has none.
    static func claim(_ folder: URL, shownAs path: String, command: String) throws {
        try check(folder, shownAs: path, command: command)
        if read(folder) == nil { try FolderRecord(command: command, invocation: Invocation.id, files: []).write(to: folder) }
    }
}

/// A file replaced as a whole: written to a temporary file beside it, flushed to disk, then
/// renamed over the old one, so a kill leaves either the old file or the new one, never a torn one.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileFailure(path: url.path, code: errno) }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 {
            CrashPoint.reached("atomic write: \(url.lastPathComponent) written, not renamed")
            if rename(temporary.path, url.path) != 0 { failure = errno }
        }
        if failure != 0 {
            unlink(temporary.path)
            throw FileFailure(path: url.path, code: failure)
        }
    }
}

/// A failed file operation, told in one line with the system's reason and what to do.
struct FileFailure: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    var description: String {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT: return "cannot write \(path): \(reason); free some space and rerun the same command (finished results are kept)"
        case EACCES, EPERM, EROFS: return "cannot write \(path): \(reason); choose a writable --output"
        case EISDIR: return "cannot write \(path): it is a folder; remove it or choose another --output"
        default: return "cannot write \(path): \(reason)"
        }
    }
}
