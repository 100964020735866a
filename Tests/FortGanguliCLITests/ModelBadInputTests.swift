import Foundation
import XCTest

/// Hostile input to the model commands (simulate, sweep, phase, theory, reproduce): every numeric
/// flag fails in one line that names it, with a non-zero exit and nothing written; the largest seed
/// runs, and its streams wrap; a resumed sweep with other arguments is refused.
final class ModelBadInputTests: ToolTestCase {
    /// Small sizes, so that a case that wrongly passed validation would still finish quickly.
    let small = ["--examples", "20", "--classes", "3", "--dimension", "30"]

    func testEveryBadNumberFailsInOneLineNamingItsFlagAndWritesNothing() throws {
        let s = small
        // (arguments, the flag the one-line message must contain)
        let cases: [([String], String)] = [
            // simulate: the model's options
            (["simulate"] + s + ["--examples", "nan"], "--examples"),
            (["simulate"] + s + ["--examples", "1"], "--examples"),
            (["simulate"] + s + ["--examples", "1e30"], "--examples"),
            (["simulate"] + s + ["--examples", "2.5"], "--examples"),
            (["simulate"] + s + ["--classes", "-3"], "--classes"),
            (["simulate", "--classes", "1e5", "--examples", "2"], "--classes"),           // C⁴ buffers: memory
            (["simulate", "--classes", "300", "--examples", "2"], "--classes"),
            (["simulate", "--examples", "4e9", "--classes", "4e9"], "--examples"),        // N·C overflows
            (["simulate"] + s + ["--dimension", "0"], "--dimension"),
            (["simulate"] + s + ["--dimension", "inf"], "--dimension"),
            (["simulate"] + s + ["--sigma-z", "-1"], "--sigma-z"),
            (["simulate"] + s + ["--sigma-z", "nan"], "--sigma-z"),
            (["simulate"] + s + ["--sigma-c", "1e200"], "--sigma-c"),                     // was a LAPACK message
            (["simulate"] + s + ["--sigma-e", "inf"], "--sigma-e"),
            (["simulate"] + s + ["--sigma-d", "1e200"], "--sigma-d"),
            (["simulate"] + s + ["--sigma-s", "-0.5"], "--sigma-s"),
            (["simulate"] + s + ["--sigma-s", "1e400"], "--sigma-s"),
            (["simulate"] + s + ["--accuracy", "1.5"], "--accuracy"),
            (["simulate"] + s + ["--accuracy", "nan"], "--accuracy"),
            (["simulate"] + s + ["--length-spread", "1"], "--length-spread"),
            (["simulate"] + s + ["--hyperplane-dimension", "0"], "--hyperplane-dimension"),
            (["simulate", "--examples", "20", "--classes", "3", "--dimension", "1e12", "--hyperplane-dimension", "1e9"], "--hyperplane-dimension"),
            (["simulate", "--examples", "20", "--classes", "3", "--dimension", "1e15", "--hyperplane-dimension", "1e12",
              "--hyperplanes", "1e4"], "--hyperplane-dimension"),                         // m + R·d beyond 2³¹
            (["simulate"] + s + ["--hyperplanes", "0"], "--hyperplanes"),
            (["simulate"] + s + ["--hyperplanes", "-2"], "--hyperplanes"),
            (["simulate"] + s + ["--top-k", "0"], "--top-k"),
            (["simulate"] + s + ["--top-k", "-1"], "--top-k"),
            (["simulate"] + s + ["--top-k", "100"], "--top-k"),                           // beyond D = 30 eigenvalues
            (["simulate"] + s + ["--top-k", "1e6"], "--top-k"),
            (["simulate"] + s + ["--seed", "-1"], "--seed"),
            (["simulate"] + s + ["--seed", "18446744073709551616"], "--seed"),
            (["simulate"] + s + ["--theory", "--sigma-e", "0"], "--sigma-e"),
            // sweep: the grid
            (["sweep"] + s + ["--points", "0"], "--points"),
            (["sweep"] + s + ["--points", "1e12"], "--points"),
            (["sweep"] + s + ["--seeds", "1e18"], "--seeds"),                             // used to hang
            (["sweep"] + s + ["--seeds", "-1"], "--seeds"),
            (["sweep"] + s + ["--sigma-z-min", "0"], "--sigma-z-min"),
            (["sweep"] + s + ["--sigma-z-max", "inf"], "--sigma-z-max"),
            (["sweep"] + s + ["--sigma-z-min", "10", "--sigma-z-max", "1"], "--sigma-z-max"),
            (["sweep"] + s + ["--growth", "power:1000"], "--growth"),                     // σ_c would overflow
            (["sweep"] + s + ["--growth", "power:nan"], "--growth"),
            (["sweep"] + s + ["--sigma-z", "0", "--growth", "power:0.25"], "--sigma-z"),  // the growth anchor
            (["sweep"] + s + ["--seed", "nan"], "--seed"),
            (["sweep"] + s + ["--sigma-c", "1e200"], "--sigma-c"),
            (["simulate"] + s + ["--spectrum", "top", "--hessian", "full"], "--spectrum"),   // eq. 10 needs its whole Gram
            (["simulate"] + s + ["--spectrum", "top", "--write-gram"], "--spectrum"),
            (["simulate"] + s + ["--spectrum", "partial"], "--spectrum"),
            (["sweep"] + s + ["--spectrum", "top", "--hessian", "full"], "--spectrum"),
            // phase
            (["phase"] + s + ["--spectrum", "top", "--hessian", "full"], "--spectrum"),
            (["phase"] + s + ["--seeds", "1e9"], "--seeds"),                              // used to hang
            (["phase"] + s + ["--sigma-z-points", "0"], "--sigma-z-points"),
            (["phase"] + s + ["--sigma-z-points", "1e12"], "--sigma-z-points"),
            (["phase"] + s + ["--snr-points", "-1"], "--snr-points"),
            (["phase"] + s + ["--snr-min", "0"], "--snr-min"),
            (["phase"] + s + ["--snr-max", "1e120"], "--snr-max"),
            (["phase"] + s + ["--sigma-z-max", "nan"], "--sigma-z-max"),
            (["phase"] + s + ["--sigma-e", "0"], "--sigma-e"),
            (["phase"] + s + ["--seed", "1e30"], "--seed"),
            // theory
            (["theory"] + s + ["--density-points", "1e12"], "--density-points"),
            (["theory"] + s + ["--density-points", "1"], "--density-points"),
            (["theory"] + s + ["--limit-examples", "1e12"], "--limit-examples"),
            (["theory"] + s + ["--limit-examples", "5"], "--limit-examples"),
            (["theory"] + s + ["--sigma-e", "0"], "--sigma-e"),                           // blamed σ_z before
            (["theory"] + s + ["--sigma-c", "nan"], "--sigma-c"),
            (["theory"] + s + ["--seed", "-5"], "--seed"),
            // reproduce
            (["reproduce", "--seeds", "0"], "--seeds"),
            (["reproduce", "--seeds", "1e9"], "--seeds"),
            (["reproduce", "--points", "1"], "--points"),
            (["reproduce", "--sweep-seeds", "1e18"], "--sweep-seeds"),
            (["reproduce", "--phase-points", "1000"], "--phase-points"),
            (["reproduce", "--length-spread", "1.5"], "--length-spread"),
            (["reproduce", "--length-spread", "nan"], "--length-spread"),
            (["reproduce", "--growth", "power:1e9"], "--growth"),
        ]
        XCTAssertGreaterThanOrEqual(cases.count, 35)
        let dir = try temporaryFolder()
        for (index, (arguments, flag)) in cases.enumerated() {
            let out = dir.appendingPathComponent("out-\(index)").path
            let r = try run(arguments + ["--output", out])
            let err = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertEqual(err.split(separator: "\n", omittingEmptySubsequences: false).count, 1, "\(arguments): \(r.stderr)")
            XCTAssertTrue(err.hasPrefix("Error: "), "\(arguments): \(r.stderr)")
            XCTAssertTrue(err.contains(flag), "\(arguments): expected \(flag) in \(r.stderr)")
            XCTAssertFalse(err.contains("LAPACK") || err.contains("illegal"), "\(arguments): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(arguments) left \(out)")
        }
    }

    /// The largest seed used to trap (seed + k overflowed); seeds are stream labels and wrap to 0.
    func testLargestSeedRunsAndWraps() throws {
        let dir = try temporaryFolder()
        let max = "18446744073709551615"
        let sweep = dir.appendingPathComponent("sweep").path
        let r = try run(["sweep", "--seed", max, "--points", "2", "--seeds", "2", "--examples", "20", "--classes", "3", "--output", sweep])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: sweep + "/sweep.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.map { String($0.split(separator: ",")[2]) }, [max, "0", max, "0"])
        let manifest = try String(contentsOfFile: sweep + "/sweep.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"seed\": \(max)") || manifest.contains("\"seed\":\(max)"), manifest)

        let phase = dir.appendingPathComponent("phase").path
        let p = try run(["phase", "--seed", max, "--sigma-z-points", "1", "--snr-points", "1", "--seeds", "2"] + small + ["--output", phase])
        XCTAssertEqual(p.status, 0, p.stderr)
        let phaseRows = try String(contentsOfFile: phase + "/phase.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(phaseRows.map { String($0.split(separator: ",")[2]) }, [max, "0"])

        for command in ["simulate", "theory"] {
            let out = dir.appendingPathComponent(command).path
            let s = try run([command] + small + ["--seed", max, "--output", out])
            XCTAssertEqual(s.status, 0, "\(command): \(s.stderr)")
            let file = out + (command == "simulate" ? "/summary.json" : "/theory.json")
            let text = try String(contentsOfFile: file, encoding: .utf8)
            XCTAssertTrue(text.contains(max), "\(command) did not write the seed exactly")
        }
    }

    /// The manifest records every argument that changes the rows, keyed by flag: a rerun with another
    /// --mode (silently appended before) is refused and leaves the table as it was.
    func testSweepManifestRecordsEveryArgumentAndRefusesAnotherMode() throws {
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("sweep").path
        let args = ["sweep"] + small + ["--points", "2", "--seeds", "1", "--output", out]
        XCTAssertEqual(try run(args + ["--mode", "dense"]).status, 0)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/sweep.json"))) as! [String: Any]
        for key in ["examples", "classes", "dimension", "sigma_z", "sigma_c", "sigma_e", "sigma_d", "sigma_s", "accuracy", "hessian",
                    "length_spread", "hyperplane_dimension", "hyperplanes", "top_k", "mode", "sigma_z_min", "sigma_z_max", "points",
                    "seeds", "growth", "seed"] {
            XCTAssertNotNil(manifest[key], key)
        }
        XCTAssertNil(manifest["first_seed"])
        XCTAssertEqual(manifest["mode"] as? String, "dense")
        let before = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8)
        let other = try run(args + ["--mode", "gram"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertEqual(other.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, other.stderr)
        XCTAssertEqual(try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8), before)
        // The same arguments resume (nothing to add).
        XCTAssertEqual(try run(args + ["--mode", "dense"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8), before)

        let phase = dir.appendingPathComponent("phase").path
        let p = try run(["phase"] + small + ["--sigma-z-points", "1", "--snr-points", "1", "--output", phase])
        XCTAssertEqual(p.status, 0, p.stderr)
        let pm = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: phase + "/phase.json"))) as! [String: Any]
        for key in ["mode", "sigma_z_points", "snr_min", "snr_max", "snr_points", "seeds", "seed", "classes", "top_k"] { XCTAssertNotNil(pm[key], key) }
        XCTAssertNil(pm["points"])
    }
}
