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
                         "--top-k", "3", "--density-probes", "1", "--hyperplanes", "3", "--write-gram", "--output", measured])
        XCTAssertEqual(m.status, 0, m.stderr)
        func json(_ path: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        }
        let s = try json(measured + "/summary.json")
        for key in ["q_slsc", "q_sl", "q_dl", "loss", "accuracy", "logit_std", "mean_logit_grad_norm", "weight_norm", "sigma_c_est",
                    "sigma_d_est", "sigma_s_est", "sigma_e_est", "ggn_eigenvalues_top", "ggn_bulk_edge", "ggn_outliers", "ggn_within_top",
                    "ggn_class_top", "ggn_cross_top", "outlier_levels", "largest_gap_index", "hessian_eigenvalues_top",
                    "hessian_eigenvalues_bottom", "hessian_norm", "gradient_power_top_k", "gradient_power_top_k_ggn", "trace",
                    "trace_standard_error", "trace_over_norm", "trace_over_norm_hyperplane", "trace_over_norm_hyperplane_standard_error",
                    "parameters"] {
            XCTAssertNotNil(s[key], key)
        }
        XCTAssertEqual(s["parameters"] as? Int, 784 * 16 + 16 + 16 * 10 + 10)
        XCTAssertEqual(s["trace_method"] as? String, "exact-diagonal", "a tanh MLP's trace is exact")
        XCTAssertEqual(s["trace_standard_error"] as? Double, 0)
        XCTAssertEqual(s["hyperplanes"] as? Int, 3)
        XCTAssertEqual((s["outlier_levels"] as? [[String: Any]])?.count, 20)
        // The Gram it wrote is a source of its own: the same Gram statistics, and Hessian rows that need a checkpoint.
        let fromGram = dir.appendingPathComponent("g").path
        let g = try run(["measure", "--gram", measured, "--output", fromGram, "--top-k", "3"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stdout.contains("needs a checkpoint"), g.stdout)
        let gs = try json(fromGram + "/summary.json")
        for key in ["q_slsc", "q_sl", "ggn_bulk_edge", "sigma_d_est", "loss"] {
            XCTAssertEqual(gs[key] as? Double, s[key] as? Double, key)
        }
        XCTAssertEqual(gs["ggn_eigenvalues_top"] as? [Double], s["ggn_eigenvalues_top"] as? [Double])
        XCTAssertEqual(gs["hessian"] as? String, "needs a checkpoint")
        XCTAssertNil(gs["trace"])
        let t = try run(["trajectory", "--run", runDir, "--data", "mixture", "--per-class", "2", "--top-k", "2", "--hyperplanes", "2"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let trajectory = try String(contentsOfFile: runDir + "/trajectory.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(trajectory.count, 4)
        XCTAssertTrue(trajectory[0].contains("trace_standard_error") && trajectory[0].contains("hessian_bottom"), String(trajectory[0]))
        let sweep = dir.appendingPathComponent("s").path
        let sc = try run(["scale-sweep"] + net + ["--per-class", "2", "--points", "2", "--top-k", "2", "--hyperplanes", "2", "--output", sweep])
        XCTAssertEqual(sc.status, 0, sc.stderr)
        XCTAssertEqual(try String(contentsOfFile: sweep + "/scale.csv", encoding: .utf8).split(separator: "\n").count, 3)
        // compare: the three models calibrated on the checkpoint, each statistic judged against their spread.
        let compared = dir.appendingPathComponent("c").path
        let cmp = try run(["compare", "--checkpoint", runDir + "/step-000012.safetensors", "--data", "mixture", "--per-class", "3",
                           "--top-k", "2", "--hyperplanes", "2", "--model-seeds", "2", "--output", compared])
        XCTAssertEqual(cmp.status, 0, cmp.stderr)
        let cj = try json(compared + "/compare.json")
        let stats = (cj["statistics"] as! [[String: Any]])
        XCTAssertEqual(Set(stats.map { $0["key"] as! String }), ["logit_std", "mean_max_prob", "energy", "q_slsc", "q_sl", "q_dl", "ggn_top",
            "ggn_class_top", "ggn_cross_top", "ggn_bulk_edge", "ggn_outliers", "ggn_outliers_class", "ggn_outliers_cross", "largest_gap_index",
            "gradient_power", "ggn_trace_over_norm", "trace_over_norm", "trace_over_norm_hyperplane"])
        for row in stats {
            for model in ["fort-ganguli", "class-conditional", "semi-empirical"] {
                let verdict = (row[model] as? [String: Any])?["verdict"] as? String
                XCTAssertTrue(["agree", "differ", "n/a"].contains(verdict ?? ""), "\(row["key"]!) \(model): \(String(describing: verdict))")
            }
        }
        let calibrations = cj["calibrations"] as! [[String: Any]]
        XCTAssertEqual(calibrations.map { $0["model"] as! String }, ["fort-ganguli", "class-conditional", "semi-empirical"])
        XCTAssertEqual(calibrations[0]["dimension"] as? Int, 784 * 16 + 16 + 16 * 10 + 10)
        XCTAssertEqual(calibrations[0]["sigma_d"] as? Double, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: compared + "/class-conditional_ggn_spectrum.npy"))
        // compare --gram on the written Gram: no Hessian rows, D from meta.json.
        let cg = try run(["compare", "--gram", measured, "--model-seeds", "2", "--output", compared + "-gram"])
        XCTAssertEqual(cg.status, 0, cg.stderr)
        XCTAssertTrue(cg.stdout.contains("needs a checkpoint"), cg.stdout)
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
                     ["compare", "--gram", dir.path, "--model-seeds", "2"],
                     ["measure", "--gram", runDir],
                     ["measure", "--checkpoint", runDir + "/step-000012.safetensors", "--data", "mixture", "--per-class", "1"],
                     ["compare", "--gram", measured, "--model-seeds", "1"],
                     ["measure", "--checkpoint", runDir + "/step-000012.safetensors", "--gram", measured],
                     ["measure", "--checkpoint", runDir + "/log.csv", "--data", "mixture"],
                     ["train", "--data", dir.appendingPathComponent("nothing").path],
                     ["train", "--data", "mixture", "--learning-rate", "-1"]] {
            let r = try run(args + ["--output", out])
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/summary.json"), "\(args)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/compare.json"), "\(args)")
        }
    }
}
