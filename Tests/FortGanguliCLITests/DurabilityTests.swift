import Foundation
import XCTest

/// Kills, interruptions and second writers, through the built binary. A run is stopped at every
/// crash point in turn (`FORTGANGULI_CRASH_AT=N` makes the writer exit at once at the N-th point,
/// as `kill -9` would); the folder must then never show a mix of two results, and a rerun must give
/// byte for byte what an uninterrupted run gives.
final class DurabilityTests: ToolTestCase {
    let small = ["--examples", "30", "--classes", "3", "--dimension", "200"]

    /// The visible files of a folder and their bytes (hidden files are the tool's bookkeeping), less
    /// the one figure that is not reproducible: the wall-clock `"seconds"` line of summary.json.
    func contents(_ folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where !name.hasPrefix(".") {
            var data = try Data(contentsOf: folder.appendingPathComponent(name))
            if name == "summary.json" {
                data = Data(String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.contains("\"seconds\"") }.joined(separator: "\n").utf8)
            }
            result[name] = data
        }
        return result
    }

    func copy(_ from: URL, to: URL) throws {
        try? FileManager.default.removeItem(at: to)
        try FileManager.default.copyItem(at: from, to: to)
    }

    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    /// Runs `arguments` crashing at point 1, 2, … until a run finishes; `after(n)` checks each crash.
    /// Returns how many crash points were exercised.
    func crashAtEveryPoint(_ arguments: [String], environment: [String: String] = [:], before: () throws -> Void,
                           after: (Int) throws -> Void) throws -> Int {
        for n in 1...200 {
            try before()
            let r = try run(arguments, environment: environment.merging(["FORTGANGULI_CRASH_AT": String(n)]) { $1 })
            if r.status == 0 { return n - 1 }
            XCTAssertEqual(r.status, 86, "crash point \(n): \(r.stderr)")
            try after(n)
        }
        XCTFail("more than 200 crash points")
        return 200
    }

    // MARK: - multi-file results

    /// A new result killed at any point over an old one: while summary.json is there, every file
    /// beside it is of the same result; a rerun gives exactly the uninterrupted result.
    func testKilledResultNeverMixesTwoSeeds() throws {
        let tmp = try temporaryFolder()
        let old = tmp.appendingPathComponent("old"), new = tmp.appendingPathComponent("new"), folder = tmp.appendingPathComponent("k")
        XCTAssertEqual(try run(["simulate", "--seed", "1", "--output", old.path] + small).status, 0)
        XCTAssertEqual(try run(["simulate", "--seed", "2", "--output", new.path] + small).status, 0)
        let (oldFiles, newFiles) = (try contents(old), try contents(new))
        XCTAssertNotEqual(oldFiles["summary.json"], newFiles["summary.json"])
        let points = try crashAtEveryPoint(["simulate", "--seed", "2", "--output", folder.path] + small,
                                           before: { try copy(old, to: folder) }) { n in
            let now = try contents(folder)
            if now["summary.json"] != nil {
                XCTAssertTrue(now == oldFiles || now == newFiles, "crash point \(n): summary.json beside files of another result")
            }
            let rerun = try run(["simulate", "--seed", "2", "--output", folder.path] + small)
            XCTAssertEqual(rerun.status, 0, rerun.stderr)
            XCTAssertEqual(try contents(folder), newFiles, "crash point \(n): the rerun differs from an uninterrupted run")
            let hidden = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }
            XCTAssertEqual(Set(hidden), [".fortganguli.json", ".fortganguli.lock"], "crash point \(n): leftovers \(hidden)")
        }
        XCTAssertGreaterThanOrEqual(points, 10)
    }

    /// A result that no longer writes a file (measure without --write-gram after with it) removes
    /// the old one: the folder holds exactly one result.
    func testNewResultRemovesFilesOfTheOldOne() throws {
        let folder = try temporaryFolder().appendingPathComponent("s")
        XCTAssertEqual(try run(["simulate", "--write-gram", "--output", folder.path] + small).status, 0)
        XCTAssertNotNil(try contents(folder)["gram.npy"])
        XCTAssertEqual(try run(["simulate", "--output", folder.path] + small).status, 0)
        XCTAssertNil(try contents(folder)["gram.npy"])
    }

    // MARK: - tables

    /// A sweep killed at every point, rows torn in half included, resumes to the same bytes.
    func testKilledSweepResumesByteIdentical() throws {
        let tmp = try temporaryFolder()
        let reference = tmp.appendingPathComponent("ref"), folder = tmp.appendingPathComponent("k")
        let args = ["sweep", "--points", "3", "--seeds", "2"] + small
        XCTAssertEqual(try run(args + ["--output", reference.path]).status, 0)
        let expected = try contents(reference)
        let points = try crashAtEveryPoint(args + ["--output", folder.path], environment: ["FORTGANGULI_CRASH_TORN": "1"],
                                           before: { try? FileManager.default.removeItem(at: folder) }) { n in
            let rerun = try run(args + ["--output", folder.path])
            XCTAssertEqual(rerun.status, 0, "crash point \(n): \(rerun.stderr)")
            XCTAssertEqual(try contents(folder), expected, "crash point \(n)")
        }
        XCTAssertGreaterThanOrEqual(points, 12)   // before and in the middle of each of the 6 rows
    }

    /// Repairing a torn last row goes through a temporary file: a kill during the repair leaves the
    /// table as it was (not empty), and the next run repairs and resumes.
    func testKilledRepairLeavesTheTable() throws {
        let tmp = try temporaryFolder()
        let reference = tmp.appendingPathComponent("ref"), folder = tmp.appendingPathComponent("k")
        let args = ["sweep", "--points", "2", "--seeds", "1"] + small
        XCTAssertEqual(try run(args + ["--output", reference.path]).status, 0)
        // Tear the second row: crash at the second "half a row written" point.
        var halves = 0
        for n in 1...20 where halves < 2 {
            try? FileManager.default.removeItem(at: folder)
            let r = try run(args + ["--output", folder.path], environment: ["FORTGANGULI_CRASH_TORN": "1", "FORTGANGULI_CRASH_AT": String(n)])
            XCTAssertEqual(r.status, 86)
            if r.stderr.contains("half a row written") { halves += 1 }
        }
        let torn = try Data(contentsOf: folder.appendingPathComponent("sweep.csv"))
        XCTAssertNotEqual(torn.last, UInt8(ascii: "\n"))
        // The rerun's first crash point is the repair's temporary file, written but not renamed.
        let r = try run(args + ["--output", folder.path], environment: ["FORTGANGULI_CRASH_AT": "1"])
        XCTAssertEqual(r.status, 86)
        XCTAssertTrue(r.stderr.contains("sweep.csv written, not renamed"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("sweep.csv")), torn)
        XCTAssertEqual(try run(args + ["--output", folder.path]).status, 0)
        XCTAssertEqual(try contents(folder), try contents(reference))
    }

    /// A damaged table is refused with the line that is wrong, and left byte for byte as it was.
    func testDamagedTableIsRefusedUntouched() throws {
        let folder = try temporaryFolder().appendingPathComponent("s")
        let args = ["sweep", "--points", "2", "--seeds", "1", "--output", folder.path] + small
        XCTAssertEqual(try run(args).status, 0)
        let table = folder.appendingPathComponent("sweep.csv")
        var rows = try String(contentsOf: table, encoding: .utf8).components(separatedBy: "\n")
        rows.insert("1,2,3", at: 2)
        let damaged = rows.joined(separator: "\n") + "0.5,garbage without newline"
        try damaged.write(to: table, atomically: true, encoding: .utf8)
        let r = try run(args)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("line 3 has 3 fields"), r.stderr)
        XCTAssertEqual(try String(contentsOf: table, encoding: .utf8), damaged)

        try "not,a,header\nnor a row".write(to: table, atomically: true, encoding: .utf8)
        let h = try run(args)
        XCTAssertEqual(h.status, 1)
        XCTAssertTrue(h.stderr.contains("another header"), h.stderr)
        XCTAssertEqual(try String(contentsOf: table, encoding: .utf8), "not,a,header\nnor a row")

        try FileManager.default.removeItem(at: table)
        try FileManager.default.createDirectory(at: table, withIntermediateDirectories: false)
        let d = try run(args)
        XCTAssertEqual(d.status, 1)
        XCTAssertEqual(lines(d.stderr).count, 1, d.stderr)
        XCTAssertTrue(d.stderr.contains("is a folder"), d.stderr)
    }

    /// A rerun with another argument is refused with that argument named, and the table is unchanged.
    func testRerunWithOtherArgumentsNamesTheArgument() throws {
        let folder = try temporaryFolder().appendingPathComponent("s")
        let args = ["sweep", "--points", "2", "--seeds", "1", "--output", folder.path] + small
        XCTAssertEqual(try run(args).status, 0)
        let before = try contents(folder)
        let r = try run(args + ["--sigma-c", "2"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--sigma-c 1") && r.stderr.contains("this run has 2"), r.stderr)
        XCTAssertEqual(try contents(folder), before)
    }

    // MARK: - training

    /// Training killed at every crash point (checkpoint written, state written, log row written)
    /// resumes to the same checkpoints bit for bit and the same log, with no duplicated row and one
    /// optimiser state left.
    func testKilledTrainingResumesBitForBit() throws {
        let tmp = try temporaryFolder()
        let reference = tmp.appendingPathComponent("ref"), folder = tmp.appendingPathComponent("k")
        let args = ["train", "--data", "sphere", "--widths", "784,8,10", "--steps", "12", "--checkpoints", "3",
                    "--batch-size", "32", "--eval-examples", "50"]
        XCTAssertEqual(try run(args + ["--output", reference.path]).status, 0)
        // The log's last column is wall-clock seconds; everything else must match.
        func withoutTime(_ folder: URL) throws -> [String: Data] {
            var c = try contents(folder)
            let log = try String(contentsOf: folder.appendingPathComponent("log.csv"), encoding: .utf8)
            c["log.csv"] = Data(lines(log).map { $0.split(separator: ",").dropLast().joined(separator: ",") }.joined(separator: "\n").utf8)
            return c
        }
        let expected = try withoutTime(reference)
        let points = try crashAtEveryPoint(args + ["--output", folder.path], before: { try? FileManager.default.removeItem(at: folder) }) { n in
            let rerun = try run(args + ["--output", folder.path])
            XCTAssertEqual(rerun.status, 0, "crash point \(n): \(rerun.stderr)")
            XCTAssertEqual(try withoutTime(folder), expected, "crash point \(n)")
            let states = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".optimizer-") }
            XCTAssertEqual(states.count, 1, "crash point \(n): \(states)")
        }
        XCTAssertGreaterThanOrEqual(points, 9)
    }

    // MARK: - second writers, interruptions, foreign folders

    func waitForLock(_ folder: URL, of p: Process) throws {
        let lock = folder.appendingPathComponent(".fortganguli.lock")
        for _ in 0..<600 {
            if let text = try? String(contentsOf: lock, encoding: .utf8), text.contains("\(p.processIdentifier)") { return }
            guard p.isRunning else { XCTFail("the first writer ended before it was seen"); return }
            usleep(20_000)
        }
        XCTFail("the first writer never took the lock")
    }

    /// While one process writes a folder, a second writer is refused at once, naming the holder's
    /// PID, and changes nothing; the first finishes normally.
    func testSecondWriterIsRefused() throws {
        let folder = try temporaryFolder().appendingPathComponent("s")
        let first = Process()
        first.executableURL = binary
        first.arguments = ["sweep", "--points", "6", "--seeds", "2", "--examples", "200", "--classes", "10", "--output", folder.path]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        try waitForLock(folder, of: first)
        for second in [first.arguments!, ["sweep", "--points", "7", "--output", folder.path] + small] {
            let r = try run(second)
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("PID \(first.processIdentifier)"), r.stderr)
        }
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        let rows = lines(try String(contentsOf: folder.appendingPathComponent("sweep.csv"), encoding: .utf8))
        XCTAssertEqual(rows.count, 1 + 12)
        XCTAssertTrue(rows.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == rows[0].split(separator: ",").count })
    }

    /// SIGTERM or SIGINT stops a run with one line and status 130: a folder it created is removed,
    /// an older result in the folder is kept as it was.
    func testInterruptionStopsCleanly() throws {
        let tmp = try temporaryFolder()
        let fresh = tmp.appendingPathComponent("fresh"), kept = tmp.appendingPathComponent("kept")
        XCTAssertEqual(try run(["simulate", "--output", kept.path] + small).status, 0)
        let old = try contents(kept)
        for (folder, sig) in [(fresh, SIGTERM), (kept, SIGINT)] {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["simulate", "--examples", "400", "--classes", "10", "--output", folder.path]
            let err = Pipe()
            (p.standardOutput, p.standardError) = (FileHandle.nullDevice, err)
            try p.run()
            try waitForLock(folder, of: p)
            usleep(200_000)
            kill(p.processIdentifier, sig)
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 130, text)
            XCTAssertEqual(lines(text), ["interrupted; finished results are kept, rerun the same command to resume"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path))
        XCTAssertEqual(try contents(kept), old)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: kept.path).allSatisfy { !$0.contains("partial") })
    }

    /// What a killed writer left (staging folders, temporary files) is removed by the next run.
    func testStaleTemporaryFilesAreRemoved() throws {
        let folder = try temporaryFolder().appendingPathComponent("s")
        XCTAssertEqual(try run(["simulate", "--output", folder.path] + small).status, 0)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(".partial-999999-deadbeef"), withIntermediateDirectories: false)
        try Data("x".utf8).write(to: folder.appendingPathComponent(".summary.json.tmp-999999"))
        XCTAssertEqual(try run(["simulate", "--output", folder.path] + small).status, 0)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(Set(hidden), [".fortganguli.json", ".fortganguli.lock"])
    }

    /// A folder that holds another command's results, or files the tool did not write, is refused
    /// and left untouched.
    func testForeignFolderIsRefused() throws {
        let tmp = try temporaryFolder()
        let sweep = tmp.appendingPathComponent("sweep"), user = tmp.appendingPathComponent("user")
        XCTAssertEqual(try run(["sweep", "--points", "2", "--seeds", "1", "--output", sweep.path] + small).status, 0)
        let before = try contents(sweep)
        let r = try run(["simulate", "--output", sweep.path] + small)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("fortganguli sweep"), r.stderr)
        XCTAssertEqual(try contents(sweep), before)

        try FileManager.default.createDirectory(at: user, withIntermediateDirectories: false)
        try Data("mine".utf8).write(to: user.appendingPathComponent("notes.txt"))
        let u = try run(["theory", "--output", user.path] + small)
        XCTAssertEqual(u.status, 1)
        XCTAssertTrue(u.stderr.contains("notes.txt"), u.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: user.path), ["notes.txt"])
    }

    /// Errors of the command line itself are one line too (the usage stays behind --help).
    func testParserErrorsAreOneLine() throws {
        for args in [["simulate", "--examples", "many"], ["simulate", "--no-such-flag"], ["no-such-command"], ["sweep", "--points"]] {
            let r = try run(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertEqual(lines(r.stderr).count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: "), r.stderr)
        }
        let help = try run(["simulate", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE"), help.stdout)
    }

    /// A full disk is one line naming the file, and a folder the run created is removed. Needs a
    /// small tmpfs (root); skipped where mounting is not allowed.
    func testFullDiskIsOneLine() throws {
        let mountPoint = try temporaryFolder().appendingPathComponent("tiny")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: false)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint.path]
        (mount.standardOutput, mount.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice)
        guard (try? mount.run()) != nil else { throw XCTSkip("cannot run mount") }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("mounting a tmpfs is not allowed here") }
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        for args in [["simulate", "--examples", "100", "--classes", "10"], ["sweep", "--points", "400", "--seeds", "1"] + small] {
            let folder = mountPoint.appendingPathComponent(args[0])
            let r = try run(args + ["--output", folder.path])
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(lines(r.stderr).count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(folder.path) && r.stderr.contains("No space left"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: mountPoint.appendingPathComponent("simulate").path))
    }
}
