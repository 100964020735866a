import Foundation
import Reports

/// A one-line error of the tool: printed as `Error: message`, exit status 1.
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// An output folder whose files appear all together or not at all: files are written into a
/// hidden staging folder inside it and moved into place by `commit()`. If the run fails or is
/// interrupted, the staging folder is removed and the folder is left as it was.
final class OutputFolder {
    let url: URL
    private let staging: URL
    private let createdFolder: Bool
    private var committed = false

    /// Creates the folder if needed and proves it writable before any work is done.
    init(_ path: String) throws {
        url = URL(fileURLWithPath: path).standardizedFileURL
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let existed = fm.fileExists(atPath: url.path, isDirectory: &isDir)
        if existed && !isDir.boolValue { throw ToolError("output path \(path) is a file, not a folder; choose another --output") }
        if !existed { try OutputFolder.makeDirectories(url, shownAs: path) }
        staging = url.appendingPathComponent(".partial-\(getpid())-\(UUID().uuidString.prefix(8))")
        if mkdir(staging.path, 0o755) != 0 {
            throw ToolError("cannot write to output folder \(path) (\(String(cString: strerror(errno)))); choose a writable --output")
        }
        createdFolder = !existed
        Interruption.register(self)
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

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
           let posix = POSIXErrorCode(rawValue: Int32(underlying.code)) { return String(describing: POSIXError(posix).localizedDescription) }
        return ns.localizedDescription
    }

    /// Writes a file into the staging area.
    func write(_ name: String, _ data: Data) throws {
        do { try data.write(to: staging.appendingPathComponent(name)) } catch {
            throw ToolError("cannot write \(name) in \(url.path) (\(OutputFolder.reason(error))); check free space and permissions")
        }
    }

    /// Moves every staged file into the folder, replacing older versions.
    func commit() throws {
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: staging.path)
        for name in names.sorted() {
            let target = url.appendingPathComponent(name)
            if rename(staging.appendingPathComponent(name).path, target.path) != 0 {
                throw ToolError("cannot move \(name) into \(url.path): \(String(cString: strerror(errno)))")
            }
        }
        try? fm.removeItem(at: staging)
        committed = true
        Interruption.unregister(self)
    }

    /// Removes the staging area (and the folder, if this run created it and it is empty).
    func abandon() {
        guard !committed else { return }
        let fm = FileManager.default
        try? fm.removeItem(at: staging)
        if createdFolder, let left = try? fm.contentsOfDirectory(atPath: url.path), left.isEmpty {
            try? fm.removeItem(at: url)
        }
        Interruption.unregister(self)
    }

    deinit { abandon() }
}

/// Cleans up staging folders when the user interrupts a run (SIGINT, SIGTERM), then exits 130.
enum Interruption {
    nonisolated(unsafe) private static var folders: [ObjectIdentifier: OutputFolder] = [:]
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    private static let lock = NSLock()

    static func register(_ f: OutputFolder) {
        lock.lock(); defer { lock.unlock() }
        folders[ObjectIdentifier(f)] = f
        if sources.isEmpty {
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler {
                    lock.lock()
                    let all = Array(folders.values)
                    lock.unlock()
                    for f in all { f.abandonWithoutLock() }
                    FileHandle.standardError.write("\ninterrupted; finished results are kept, rerun the same command to resume\n".data(using: .utf8)!)
                    exit(130)
                }
                s.resume()
                sources.append(s)
            }
        }
    }

    static func unregister(_ f: OutputFolder) {
        lock.lock(); defer { lock.unlock() }
        folders[ObjectIdentifier(f)] = nil
    }
}

extension OutputFolder {
    /// Abandon from the signal handler (the lock is not held by it).
    fileprivate func abandonWithoutLock() {
        guard !committed else { return }
        try? FileManager.default.removeItem(at: staging)
    }
}
