import Foundation
import XCTest

/// The cluster round trip on a real single-node Slurm (Debian's slurm-wlm with munge, started and
/// stopped by scripts/slurm/local-cluster.sh, which installs them when missing): a phase diagram
/// submitted as a 4-task job array through scripts/slurm/grid.sbatch, merged, equals the unsharded
/// run byte for byte (both at one BLAS thread, the condition for bitwise equality).
final class SlurmTests: ToolTestCase {
    var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Runs a shell command line through system(3) with its output in a file, returning the exit
    /// status and the output. (Foundation's Process can miss the exit of a shell whose children
    /// daemonise, as the Slurm daemons do, and then waits forever.)
    @discardableResult
    func shell(_ command: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fg-slurm-shell-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let exports = environment.map { "export \($0.key)='\($0.value)'; " }.joined()
        let status = system("(\(exports)\(command)) </dev/null >'\(log.path)' 2>&1")
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (status == -1 ? -1 : (status >> 8) & 0xff, output)
    }

    func testPhaseDiagramAsSlurmJobArrayMergesToTheUnshardedRun() throws {
        guard getuid() == 0 else { throw XCTSkip("slurmd starts jobs as their user, so the local cluster needs root (CI runs as root)") }
        let dir = try temporaryFolder()
        let cluster = dir.appendingPathComponent("cluster").path
        let scripts = repository.appendingPathComponent("scripts/slurm").path
        let start = try shell("'\(scripts)/local-cluster.sh' start '\(cluster)'")
        addTeardownBlock { _ = try? self.shell("'\(scripts)/local-cluster.sh' stop '\(cluster)'") }
        XCTAssertEqual(start.status, 0, start.output)
        guard start.status == 0 else { return }
        let grid = ["phase", "--examples", "40", "--classes", "4", "--dimension", "1000", "--sigma-z-points", "4", "--snr-points", "3", "--seeds", "1"]
        let sharded = dir.appendingPathComponent("phase-slurm"), whole = dir.appendingPathComponent("phase-whole")
        let oneThread = ["OPENBLAS_NUM_THREADS": "1"]
        let environment = oneThread.merging(["SLURM_CONF": cluster + "/slurm.conf", "FORTGANGULI": binary.path]) { $1 }
        let submit = try shell("timeout 300 sbatch --wait --array=1-4 --output='\(dir.path)/slurm-%A_%a.out' '\(scripts)/grid.sbatch' 4 "
                               + (grid + ["--output", sharded.path]).map { "'\($0)'" }.joined(separator: " "), environment: environment)
        let logs = try shell("cat '\(dir.path)'/slurm-*.out").output
        XCTAssertEqual(submit.status, 0, submit.output + logs)
        for i in 1...4 {
            XCTAssertTrue(FileManager.default.fileExists(atPath: sharded.appendingPathComponent("shards/\(i)-of-4/phase.csv").path), "task \(i) wrote no shard")
        }
        let merge = try run(["merge", sharded.path])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertEqual(try run(grid + ["--output", whole.path], environment: oneThread).status, 0)
        for name in ["phase.csv", "phase.json"] {
            let a = try Data(contentsOf: sharded.appendingPathComponent(name)), b = try Data(contentsOf: whole.appendingPathComponent(name))
            XCTAssertEqual(a, b, "\(name): the merged job array differs from the unsharded run")
        }
    }
}
