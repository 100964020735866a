import Foundation
import Landscape
import Linalg
import RealNets

/// How a network (or imported-source) measurement is written and summarised: `measure`'s files,
/// its one-line summary, and the row `trajectory` and `scale-sweep` stream.
public enum NetworkReport {
    /// The Hessian keys' note when there is no network to take Hessian-vector products of.
    public static let needsCheckpoint = "needs a checkpoint"

    public static func summary(_ m: NetworkMeasurement, topK: Int, name: String? = nil) -> JSON {
        var pairs: [(String, JSON)] = []
        if let name { pairs.append(("source", .string(name))) }
        pairs += [("parameters", m.parameters.map { .integer($0) } ?? .null), ("examples", .integer(m.examples)),
                  ("classes", .integer(m.classes)), ("loss", .number(m.loss)),
                  ("weight_norm", m.weightNorm.map { .number($0) } ?? .null)]
        pairs += GramReport.fields(m.gram, topK: topK)
        if let h = m.hessian {
            pairs += [
                ("hessian_eigenvalues_top", .numbers(h.top)), ("hessian_eigenvalues_bottom", .numbers(h.bottom)),
                ("hessian_norm", .number(h.norm)), ("hterm_eigenvalues_top", .numbers(h.hTermTop)),
                ("gradient_power_top_k", .number(h.gradientPowerTopK)),
                ("trace", .number(h.trace.value)), ("trace_standard_error", .number(h.trace.standardError)),
                ("trace_method", .string(h.trace.method)),
                ("trace_over_norm", .number(h.traceOverNorm)), ("trace_over_norm_standard_error", .number(h.traceOverNormStandardError)),
                ("hyperplane_dimension", .integer(h.hyperplane.dimension)), ("hyperplanes", .integer(h.hyperplane.draws.count)),
                ("trace_over_norm_hyperplane", .number(h.hyperplane.mean)),
                ("trace_over_norm_hyperplane_standard_error", .number(h.hyperplane.standardError)),
                ("hessian_vector_products", .integer(h.hessianVectorProducts)),
            ]
        } else {
            pairs.append(("hessian", .string(m.weightNorm == nil ? needsCheckpoint : "skipped (--skip-hessian)")))
        }
        pairs += [("gram_seconds", .number(m.gramSeconds)), ("seconds", .number(m.seconds))]
        return .object(pairs)
    }

    /// The files `measure` writes.
    public static func files(_ m: NetworkMeasurement, topK: Int, name: String? = nil) -> [(String, Data)] {
        var files: [(String, Data)] = [("summary.json", summary(m, topK: topK, name: name).data),
                                       ("overlap_ggn.csv", GramReport.overlapCSV(m.gram)),
                                       ("probabilities.csv", GramReport.probabilitiesCSV(m.gram.source))]
        files += GramReport.spectrumFiles(m.gram)
        if let h = m.hessian, let q = h.density {
            let top = (h.top.first ?? 1) * 1.1
            let low = min(q.nodes.min() ?? 0, 0) * 1.1
            let grid = (0..<400).map { low + (top - low) * Double($0) / 399 }
            let span = top - low
            let rho = q.density(on: grid, bandwidth: span.isFinite && span > 0 ? span / 200 : 1)
            files.append(("hessian_density.csv", Data(zip(grid, rho).reduce("lambda,density\n") {
                $0 + "\(formatNumber($1.0)),\(formatNumber($1.1))\n" }.utf8)))
        }
        return files
    }

    public static func line(_ m: NetworkMeasurement, topK: Int) -> String {
        let g = m.gram, s = g.structure
        var out = String(format: "loss %.4f, accuracy %.3f; q^SLSC %.3f, q^SL %.3f, q^DL %.3f; G-term: λ₁ %.4g, bulk edge %.4g, %d outliers (%@), largest gap after %d",
                         m.loss, m.accuracy, g.clustering.qSLSC, g.clustering.qSL, g.clustering.qDL,
                         s.gaussNewton.eigenvalues.first ?? .nan, s.outliers.bulkEdge, s.outliers.outliers,
                         levelCounts(s), s.largestGapIndex)
        if let h = m.hessian {
            out += String(format: "; H: λ₁ %.4g, λ_min %.4g, Trace/‖H‖ %.3g (trace %@), hyperplanes %.3g ± %.2g; top-%d gradient power %.3f (G: %.3f) (%.1f s, %d Hv)",
                          h.top.first ?? .nan, h.bottom.first ?? .nan, h.traceOverNorm, h.trace.method, h.hyperplane.mean,
                          h.hyperplane.standardError, topK, h.gradientPowerTopK, g.gradientPower(top: topK), m.seconds,
                          h.hessianVectorProducts)
        } else {
            out += "; Hessian: " + (m.weightNorm == nil ? needsCheckpoint : "skipped")
        }
        return out
    }

    /// "class 4, cross 3, within 0".
    public static func levelCounts(_ s: ClassStructure) -> String {
        let by = s.outliersByLevel
        return ClassStructure.Level.allCases.map { "\($0.rawValue) \(by[$0] ?? 0)" }.joined(separator: ", ")
    }

    /// The columns `trajectory` and `scale-sweep` stream.
    public static let rowHeader = [
        "loss", "accuracy", "q_slsc", "q_sl", "q_dl", "logit_std", "mean_logit_grad_norm", "weight_norm",
        "sigma_c_est", "sigma_d_est", "sigma_s_est", "sigma_e_est", "paper_sigma_c_est", "paper_sigma_e_est",
        "ggn_top", "ggn_bulk_edge", "ggn_outliers", "ggn_outliers_class", "ggn_outliers_cross", "largest_gap_index",
        "ggn_trace", "ggn_trace_over_norm", "gradient_power_top_k_ggn",
        "hessian_top", "hessian_bottom", "hessian_norm", "gradient_power_top_k",
        "trace", "trace_standard_error", "trace_over_norm", "trace_over_norm_standard_error",
        "trace_over_norm_hyperplane", "trace_over_norm_hyperplane_standard_error",
    ]

    public static func row(_ m: NetworkMeasurement, topK: Int) -> [String] {
        let g = m.gram, s = g.structure, mo = g.moments, by = s.outliersByLevel
        let h = m.hessian
        let values: [Double] = [
            m.loss, m.accuracy, g.clustering.qSLSC, g.clustering.qSL, g.clustering.qDL, g.logitScale, g.meanLogitGradientNorm,
            m.weightNorm ?? .nan, mo.sigmaC, mo.sigmaD, mo.sigmaS, mo.sigmaE, mo.paperSigmaC, mo.paperSigmaE,
            s.gaussNewton.eigenvalues.first ?? .nan, s.outliers.bulkEdge, Double(s.outliers.outliers),
            Double(by[.classLevel] ?? 0), Double(by[.cross] ?? 0), Double(s.largestGapIndex),
            s.trace, g.gaussNewtonTraceOverNorm, g.gradientPower(top: topK),
            h?.top.first ?? .nan, h?.bottom.first ?? .nan, h?.norm ?? .nan, h?.gradientPowerTopK ?? .nan,
            h?.trace.value ?? .nan, h?.trace.standardError ?? .nan, h?.traceOverNorm ?? .nan, h?.traceOverNormStandardError ?? .nan,
            h?.hyperplane.mean ?? .nan, h?.hyperplane.standardError ?? .nan,
        ]
        return values.map(formatNumber)
    }
}
