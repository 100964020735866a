import Foundation
import XCTest

/// train → measure → trajectory → scale-sweep through the built binary, and their bad input.
final class RealNetCommandTests: ToolTestCase {
    func testTrainMeasureTrajectoryAndScaleSweep() throws {
        let dir = try temporaryFolder()
        let runDir = dir.appendingPathComponent("run").path
        let net = ["--data", "mixture", "--widths", "784,16,10", "--activation", "tanh"]
        let train = try run(["train"] + net + ["--steps", "12", "--checkpoints", "3", "--batch-size", "32", "--eval-examples", "200",
                                               "--output", runDir])
        XCTAssertEqual(train.status, 0, train.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: runDir).filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
        XCTAssertEqual(files, ["step-000000.safetensors", "step-000001.safetensors", "step-000012.safetensors"])
        // A complete run is not redone.
        XCTAssertTrue(try run(["train"] + net + ["--steps", "12", "--checkpoints", "3", "--batch-size", "32", "--eval-examples", "200",
                                                 "--output", runDir]).stdout.contains("complete"))
        let measured = dir.appendingPathComponent("m").path
        let m = try run(["measure", "--checkpoint", runDir + "/step-000012.safetensors", "--data", "mixture", "--per-class", "3",
                         "--top-k", "3", "--trace-probes", "4", "--density-probes", "1", "--output", measured])
        XCTAssertEqual(m.status, 0, m.stderr)
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: measured + "/summary.json"))) as! [String: Any]
        for key in ["q_slsc", "q_sl", "q_dl", "loss", "accuracy", "logit_std", "mean_logit_grad_norm", "weight_norm", "sigma_c_est",
                    "sigma_e_est", "ggn_eigenvalues_top", "hessian_eigenvalues_top", "gradient_power_top_k", "gradient_power_top_k_ggn",
                    "trace", "trace_over_norm", "parameters"] {
            XCTAssertNotNil(s[key], key)
        }
        XCTAssertEqual(s["parameters"] as? Int, 784 * 16 + 16 + 16 * 10 + 10)
        let t = try run(["trajectory", "--run", runDir, "--data", "mixture", "--per-class", "2", "--top-k", "2", "--trace-probes", "2"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(try String(contentsOfFile: runDir + "/trajectory.csv", encoding: .utf8).split(separator: "\n").count, 4)
        let sweep = dir.appendingPathComponent("s").path
        let sc = try run(["scale-sweep"] + net + ["--per-class", "2", "--points", "2", "--top-k", "2", "--trace-probes", "2", "--output", sweep])
        XCTAssertEqual(sc.status, 0, sc.stderr)
        XCTAssertEqual(try String(contentsOfFile: sweep + "/scale.csv", encoding: .utf8).split(separator: "\n").count, 3)
        // compare: calibrate the model on the checkpoint and set the statistics side by side.
        let compared = dir.appendingPathComponent("c").path
        let cmp = try run(["compare", "--checkpoint", runDir + "/step-000012.safetensors", "--data", "mixture", "--per-class", "3",
                           "--top-k", "2", "--trace-probes", "2", "--output", compared])
        XCTAssertEqual(cmp.status, 0, cmp.stderr)
        let cj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: compared + "/compare.json"))) as! [String: Any]
        let stats = (cj["statistics"] as! [[String: Any]]).map { $0["statistic"] as! String }
        XCTAssertTrue(stats.contains("outliers") && stats.contains("q^SL") && stats.contains("Trace(G)/‖G‖"), "\(stats)")
        XCTAssertEqual((cj["calibration"] as! [String: Any])["dimension"] as? Int, 784 * 16 + 16 + 16 * 10 + 10)
        XCTAssertNotEqual(try run(["compare", "--checkpoint", runDir + "/step-000012.safetensors", "--data", "mixture",
                                   "--class-subset", "0,1", "--output", compared + "-bad"]).status, 0)
        // A divergent run stops with one line and keeps the last good checkpoint.
        let diverging = dir.appendingPathComponent("diverge").path
        let d = try run(["train", "--data", "mixture", "--widths", "784,16,10", "--activation", "relu", "--steps", "5", "--checkpoints", "2", "--learning-rate", "1e200", "--eval-examples", "100",
                                           "--output", diverging])
        XCTAssertNotEqual(d.status, 0)
        XCTAssertTrue(d.stderr.contains("diverged") && d.stderr.contains("step-000000.safetensors"), d.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: diverging).filter { $0.hasPrefix("step-") }, ["step-000000.safetensors"])
        // Bad input: data that does not fit the checkpoint, a run with no checkpoints, a corrupt checkpoint, a missing data set.
        let out = dir.appendingPathComponent("bad").path
        for args in [["measure", "--checkpoint", runDir + "/step-000012.safetensors", "--data", "mixture", "--class-subset", "0,1,2"],
                     ["trajectory", "--run", dir.path, "--data", "mixture"],
                     ["compare", "--run", dir.path, "--data", "mixture"],
                     ["compare", "--data", "mixture"],
                     ["measure", "--checkpoint", runDir + "/log.csv", "--data", "mixture"],
                     ["train", "--data", dir.appendingPathComponent("nothing").path],
                     ["train", "--data", "mixture", "--learning-rate", "-1"]] {
            let r = try run(args + ["--output", out])
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/summary.json"), "\(args)")
        }
    }
}
