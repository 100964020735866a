import Foundation

/// Stops a run cleanly on SIGINT or SIGTERM: waits for a commit or row append in progress to
/// finish (they run inside `critical`), removes the staging files of uncommitted results (and a
/// folder this run created that holds no results), prints one line and exits with status 130.
/// Finished rows and committed results are kept, so rerunning the same command resumes.
enum Interruption {
    nonisolated(unsafe) private static var cleanups: [UUID: () -> Void] = [:]
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private(set) static var interrupted = false
    private static let registry = NSLock()
    /// Held by every commit and append, and by the signal handler, so neither is cut in two.
    private static let commitLock = NSRecursiveLock()

    /// Runs `body` so that an interruption waits for it to end.
    static func critical<T>(_ body: () throws -> T) rethrows -> T {
        commitLock.lock(); defer { commitLock.unlock() }
        return try body()
    }

    /// Registers what to undo if the run is interrupted; returns the token to unregister it.
    static func register(_ cleanup: @escaping () -> Void) -> UUID {
        registry.lock(); defer { registry.unlock() }
        let token = UUID()
        cleanups[token] = cleanup
        if sources.isEmpty { installHandlers() }
        return token
    }

    static func unregister(_ token: UUID) {
        registry.lock(); defer { registry.unlock() }
        cleanups[token] = nil
    }

    private static func installHandlers() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                interrupted = true
                commitLock.lock()   // never released: the process ends here
                registry.lock()
                let all = Array(cleanups.values)
                registry.unlock()
                for cleanup in all { cleanup() }
                FileHandle.standardError.write("interrupted; finished results are kept, rerun the same command to resume\n".data(using: .utf8)!)
                _exit(130)
            }
            s.resume()
            sources.append(s)
        }
    }
}

/// Test hook that makes a writer die at a chosen point, as `kill -9` would: with
/// `FORTGANGULI_CRASH_AT=N` in the environment, the N-th crash point passed (counting from 1)
/// prints `crash point N: name` and exits at once with status 86, with no clean-up. Crash points
/// sit between the file operations of every commit, table append and repair, and training record,
/// so tests can stop a run in each window and check that a rerun recovers byte for byte.
enum CrashPoint {
    nonisolated(unsafe) private static var passed = 0
    private static let target: Int? = ProcessInfo.processInfo.environment["FORTGANGULI_CRASH_AT"].flatMap { Int($0) }
    /// With `FORTGANGULI_CRASH_TORN=1`, table rows are written in two halves with a crash point
    /// between, so a crash there leaves a torn last line.
    static let tornRows = ProcessInfo.processInfo.environment["FORTGANGULI_CRASH_TORN"] != nil

    static func reached(_ name: String) {
        guard let target else { return }
        passed += 1
        if passed == target {
            FileHandle.standardError.write("crash point \(passed): \(name)\n".data(using: .utf8)!)
            _exit(86)
        }
    }
}
