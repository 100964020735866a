import Foundation
import XCTest

/// Hostile input to train, measure, trajectory, scale-sweep and compare: every case fails with one
/// line naming the flag or file, a non-zero exit, and no --output left behind; and every argument
/// that changes a table's rows is in its manifest, so a rerun that differs only there is refused.
final class RealNetBadInputTests: ToolTestCase {
    /// A tiny run (784-4-10 on the synthetic sphere data, 2 steps) and bad files beside it.
    func makeFixtures() throws -> (dir: URL, run: String, checkpoint: String, nan: String, truncated: String) {
        let dir = try temporaryFolder()
        let runDir = dir.appendingPathComponent("run").path
        let r = try run(["train", "--data", "sphere", "--widths", "784,4,10", "--steps", "2", "--checkpoints", "2", "--batch-size", "16",
                         "--eval-examples", "10", "--output", runDir])
        XCTAssertEqual(r.status, 0, r.stderr)
        let checkpoint = runDir + "/step-000002.safetensors"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let nanBits = Double.nan.bitPattern.littleEndian
        withUnsafeBytes(of: nanBits) { for (i, b) in $0.enumerated() { bytes[8 + headerLength + 16 + i] = b } }
        let nan = dir.appendingPathComponent("nan-weights.safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: nan))
        let truncated = dir.appendingPathComponent("truncated.safetensors").path
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: truncated))
        return (dir, runDir, checkpoint, nan, truncated)
    }

    func testBadInputFailsInOneLineNamingTheFlagAndLeavesNoOutput() throws {
        let f = try makeFixtures()
        let maxSeed = "18446744073709551615"
        let tiny = ["--data", "sphere", "--widths", "784,4,10"]
        let trainTiny = ["train"] + tiny + ["--steps", "2", "--checkpoints", "2", "--batch-size", "16", "--eval-examples", "10"]
        let measure = ["measure", "--checkpoint", f.checkpoint, "--data", "sphere", "--per-class", "2"]
        let trajectory = ["trajectory", "--run", f.run, "--data", "sphere", "--per-class", "2"]
        let sweep = ["scale-sweep"] + tiny + ["--per-class", "2", "--points", "1"]
        let compare = ["compare", "--checkpoint", f.checkpoint, "--data", "sphere", "--per-class", "2", "--model-seeds", "2"]
        let compareRun = ["compare", "--run", f.run, "--data", "sphere", "--per-class", "2", "--model-seeds", "2"]
        let missing = f.dir.appendingPathComponent("missing.safetensors").path
        // (arguments, expected substring of the one-line error)
        let cases: [([String], String)] = [
            // train
            (trainTiny + ["--checkpoints", "1e12"], "--checkpoints"),
            (trainTiny + ["--checkpoints", "1"], "--checkpoints"),
            (trainTiny + ["--checkpoints", "4"], "--checkpoints"),                      // more than steps + 1
            (trainTiny + ["--eval-examples", "0"], "--eval-examples"),
            (trainTiny + ["--eval-examples", "-5"], "--eval-examples"),
            (trainTiny + ["--steps", "0"], "--steps"),
            (trainTiny + ["--steps", "-3"], "--steps"),
            (trainTiny + ["--steps", "1e18"], "--steps"),
            (trainTiny + ["--batch-size", "0"], "--batch-size"),
            (trainTiny + ["--batch-size", "1e15"], "--batch-size"),
            (trainTiny + ["--learning-rate", "nan"], "--learning-rate"),
            (trainTiny + ["--learning-rate", "inf"], "--learning-rate"),
            (trainTiny + ["--momentum", "1"], "--momentum"),
            (trainTiny + ["--momentum", "-0.5"], "--momentum"),
            (trainTiny + ["--weight-scale", "0"], "--weight-scale"),
            (trainTiny + ["--weight-scale", "-inf"], "--weight-scale"),
            (trainTiny + ["--weight-scale", "1e300"], "--weight-scale"),
            (["train", "--data", "sphere", "--widths", "784,100000000,10"], "--widths"),          // memory
            (["train", "--data", "sphere", "--widths", "784,4611686018427387904,10"], "--widths"), // overflow
            (["train", "--data", "sphere", "--widths", "784,0,10"], "--widths"),
            (["train", "--data", "sphere", "--widths", "784,4,,10"], "--widths"),
            (["train", "--data", "sphere", "--arch", "cnn"], "--arch cnn"),
            (trainTiny + ["--class-subset", "0,11"], "--class-subset"),
            (trainTiny + ["--class-subset", "3"], "--class-subset"),
            // measure
            (measure + ["--top-k", "0"], "--top-k"),
            (measure + ["--top-k", "-1"], "--top-k"),
            (measure + ["--top-k", "1e6"], "--top-k"),
            (measure + ["--top-k", "1000"], "--top-k"),                                   // more than N·C = 20
            (measure + ["--bottom-k", "5000"], "--bottom-k"),                             // more than D − 1
            (measure + ["--bottom-k", "0"], "--bottom-k"),
            (measure + ["--trace-probes", "0"], "--trace-probes"),
            (measure + ["--trace-probes", "-4"], "--trace-probes"),
            (measure + ["--density-probes", "-1"], "--density-probes"),
            (measure + ["--hyperplanes", "0"], "--hyperplanes"),
            (measure + ["--hyperplane-dimension", "5000"], "--hyperplane-dimension"),     // more than D
            (measure + ["--hyperplane-dimension", "-2"], "--hyperplane-dimension"),
            (measure + ["--per-class", "1"], "--per-class"),
            (measure + ["--per-class", "100000"], "--per-class"),                         // more than the data has
            (["measure", "--checkpoint", f.checkpoint, "--data", "sphere", "--per-class", "500", "--explicit-jacobian"], "--per-class"),
            (["measure", "--checkpoint", f.nan, "--data", "sphere"], "nan-weights.safetensors"),
            (["measure", "--checkpoint", f.truncated, "--data", "sphere"], "truncated.safetensors"),
            (["measure", "--checkpoint", missing, "--data", "sphere"], "missing.safetensors"),
            (measure + ["--seed", maxSeed, "--top-k", "0"], "--top-k"),
            // trajectory
            (["trajectory", "--run", f.dir.path, "--data", "sphere"], f.dir.path),       // not a run folder
            (trajectory + ["--top-k", "500"], "--top-k"),
            (trajectory + ["--trace-probes", "1"], "--trace-probes"),
            (trajectory + ["--class-subset", "0,1"], "--class-subset"),
            // scale-sweep
            (sweep + ["--alpha-min", "nan"], "--alpha-min"),
            (sweep + ["--alpha-max", "inf"], "--alpha-max"),
            (sweep + ["--alpha-min", "-1"], "--alpha-min"),
            (sweep + ["--alpha-min", "2", "--alpha-max", "1"], "--alpha-max"),
            (sweep + ["--points", "0"], "--points"),
            (sweep + ["--points", "1e9"], "--points"),
            (sweep + ["--init-seed", maxSeed, "--top-k", "1e6"], "--top-k"),
            (["scale-sweep", "--data", "sphere", "--widths", "784,4611686018427387904,10"], "--widths"),
            (["scale-sweep", "--data", "sphere", "--widths", "784,100000000,10", "--per-class", "2"], "--widths"),
            (["scale-sweep", "--data", "sphere", "--arch", "cnn", "--hidden", "0"], "--hidden"),
            // compare
            (compare + ["--level", "nan"], "--level"),
            (compare + ["--level", "-0.9"], "--level"),
            (compare + ["--level", "1"], "--level"),
            (compare + ["--model-seeds", "1"], "--model-seeds"),
            (compare + ["--model-seeds", "-2"], "--model-seeds"),
            (compare + ["--model-seeds", "1e9"], "--model-seeds"),
            (compare + ["--model-seed", maxSeed, "--top-k", "0"], "--top-k"),
            (compare + ["--parameters", "0"], "--parameters"),
            (compare + ["--parameters", "1e18"], "--parameters"),
            (compare + ["--top-k", "1e6"], "--top-k"),
            (compare + ["--hyperplane-dimension", "1e5"], "--hyperplane-dimension"),
            (["compare", "--checkpoint", f.nan, "--data", "sphere"], "nan-weights.safetensors"),
            (["compare", "--checkpoint", f.truncated, "--data", "sphere"], "truncated.safetensors"),
            (["compare", "--run", f.dir.appendingPathComponent("nothing").path, "--data", "sphere"], "nothing"),
            (compareRun + ["--top-k", "1e6"], "--top-k"),
            (compareRun + ["--level", "inf"], "--level"),
        ]
        XCTAssertGreaterThanOrEqual(cases.count, 35)
        for (index, (args, expected)) in cases.enumerated() {
            let out = f.dir.appendingPathComponent("out-\(index)").appendingPathComponent("nested").path
            let r = try run(args + ["--output", out])
            let label = args.joined(separator: " ")
            XCTAssertNotEqual(r.status, 0, label)
            let lines = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(label): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: "), "\(label): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(label): expected \(expected) in \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("LAPACK") || r.stderr.contains("dense Matrix"), "\(label): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("out-\(index)").path),
                           "\(label) left \(out) behind")
        }
        // The run folder is untouched by the failed trajectory and compare --run cases.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.run).filter { !$0.hasPrefix(".") }.sorted(),
                       ["log.csv", "log.json", "step-000000.safetensors", "step-000002.safetensors"])
    }

    /// The largest seed is a valid stream label everywhere: no trap, and written exactly.
    func testMaximumSeedRunsAndIsRecordedExactly() throws {
        let dir = try temporaryFolder()
        let maxSeed = "18446744073709551615"
        let runDir = dir.appendingPathComponent("run").path
        let r = try run(["train", "--data", "sphere", "--widths", "784,4,10", "--steps", "2", "--checkpoints", "2", "--batch-size", "16",
                         "--eval-examples", "10", "--seed", maxSeed, "--output", runDir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try String(contentsOfFile: runDir + "/log.json", encoding: .utf8).contains("\"seed\": \(maxSeed)"))
        let sweep = dir.appendingPathComponent("sweep").path
        let s = try run(["scale-sweep", "--data", "sphere", "--widths", "784,4,10", "--per-class", "2", "--points", "1", "--top-k", "2",
                         "--hyperplanes", "1", "--init-seed", maxSeed, "--seed", maxSeed, "--output", sweep])
        XCTAssertEqual(s.status, 0, s.stderr)
        let manifest = try String(contentsOfFile: sweep + "/scale.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"init_seed\": \(maxSeed)") && manifest.contains("\"seed\": \(maxSeed)"), manifest)
        let c = try run(["compare", "--checkpoint", runDir + "/step-000002.safetensors", "--data", "sphere", "--per-class", "2",
                         "--top-k", "2", "--hyperplanes", "1", "--model-seeds", "2", "--model-seed", maxSeed, "--skip-hessian",
                         "--output", dir.appendingPathComponent("cmp").path])
        XCTAssertEqual(c.status, 0, c.stderr)
    }

    /// A rerun into the same table that differs only in one argument that changes the rows is
    /// refused, and the table is left byte for byte as it was.
    func testManifestsRecordEveryArgumentThatChangesTheRows() throws {
        let dir = try temporaryFolder()
        let runDir = dir.appendingPathComponent("run").path
        let train = ["train", "--data", "sphere", "--widths", "784,4,10", "--steps", "2", "--checkpoints", "2", "--batch-size", "16",
                     "--eval-examples", "10", "--output", runDir]
        XCTAssertEqual(try run(train).status, 0)
        let sweepOut = dir.appendingPathComponent("sweep").path
        let sweep = ["scale-sweep", "--data", "sphere", "--widths", "784,4,10", "--per-class", "2", "--points", "1", "--top-k", "2",
                     "--hyperplanes", "1", "--hyperplane-dimension", "3", "--output", sweepOut]
        let trajOut = dir.appendingPathComponent("traj").path
        let trajectory = ["trajectory", "--run", runDir, "--data", "sphere", "--per-class", "2", "--top-k", "2", "--hyperplanes", "1",
                          "--hyperplane-dimension", "3", "--output", trajOut]
        let cmpOut = dir.appendingPathComponent("cmp").path
        let compare = ["compare", "--run", runDir, "--data", "sphere", "--per-class", "2", "--top-k", "2", "--hyperplanes", "1",
                       "--hyperplane-dimension", "3", "--model-seeds", "2", "--skip-hessian", "--output", cmpOut]
        let tables: [(base: [String], file: String, variants: [[String]])] = [
            (sweep, sweepOut + "/scale.csv", [["--trace-probes", "3"], ["--seed", "1"], ["--top-k", "3"], ["--class-subset", "0,1,2,3,4,5,6,7,8,9"],
                                              ["--bottom-k", "2"], ["--hyperplane-dimension", "2"], ["--skip-hessian"], ["--explicit-jacobian"],
                                              ["--init-seed", "1"], ["--alpha-min", "0.2"], ["--alpha-max", "5"], ["--points", "2"],
                                              ["--per-class", "3"], ["--hyperplanes", "2"], ["--activation", "tanh"]]),
            (trajectory, trajOut + "/trajectory.csv", [["--skip-hessian"], ["--trace-probes", "3"], ["--seed", "1"], ["--top-k", "3"],
                                                      ["--bottom-k", "2"], ["--hyperplane-dimension", "2"], ["--explicit-jacobian"],
                                                      ["--class-subset", "0,1,2,3,4,5,6,7,8,9"]]),
            (compare, cmpOut + "/compare-trajectory.csv", [["--top-k", "3"], ["--trace-probes", "3"], ["--model-seeds", "3"],
                                                          ["--model-seed", "1"], ["--level", "0.9"], ["--parameters", "100"], ["--seed", "1"],
                                                          ["--hyperplane-dimension", "2"], ["--class-subset", "0,1,2,3,4,5,6,7,8,9"]]),
        ]
        for (base, file, variants) in tables {
            let first = try run(base)
            XCTAssertEqual(first.status, 0, "\(base): \(first.stderr)")
            let before = try Data(contentsOf: URL(fileURLWithPath: file))
            // The same arguments resume (nothing to do), so the manifest is stable.
            XCTAssertEqual(try run(base).status, 0)
            for variant in variants {
                let r = try run(base + variant)
                XCTAssertNotEqual(r.status, 0, "\(base[0]) \(variant) was not refused")
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), before, "\(base[0]) \(variant) changed \(file)")
            }
        }
    }

    /// A divergence says which checkpoint it kept, and never names one that does not exist.
    func testDivergenceMessageNamesOnlyACheckpointThatExists() throws {
        let dir = try temporaryFolder()
        let out = dir.appendingPathComponent("diverge").path
        let r = try run(["train", "--data", "sphere", "--widths", "784,4,10", "--steps", "3", "--checkpoints", "2", "--batch-size", "16",
                         "--learning-rate", "1e300", "--eval-examples", "10", "--output", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, r.stderr)
        if let kept = r.stderr.range(of: "step-[0-9]{6}\\.safetensors", options: .regularExpression) {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + r.stderr[kept]), r.stderr)
        } else {
            XCTAssertTrue(r.stderr.contains("no checkpoint was kept"), r.stderr)
        }
    }
}
