import Foundation
import Landscape

/// The summary keys of the Gram statistics, written alike by `measure` (network or `--gram`
/// source) and `simulate` (the model's own Gram), so the two can be read by the same code.
public enum GramReport {
    /// Keys: logit and probability statistics, q's, the moment estimates of the class-conditional
    /// model, and the G-term with Papyan's decomposition (`ggn_*`, `outlier_levels`, `largest_gap_index`).
    public static func fields(_ g: GramStatistics, topK: Int) -> [(String, JSON)] {
        let s = g.structure, m = g.moments
        let c = g.source.classes
        let top = 2 * c
        func levels(_ l: ClassStructure.Levels) -> JSON {
            .object([("class", .number(l.classLevel)), ("cross", .number(l.cross)), ("within", .number(l.within))])
        }
        let byLevel = s.outliersByLevel
        let outlierLevels = (0..<min(top, s.levels.count)).map { i -> JSON in
            let l = s.levels[i]
            return .object([("eigenvalue", .number(s.gaussNewton.eigenvalues[i])), ("class", .number(l.classLevel)),
                            ("cross", .number(l.cross)), ("within", .number(l.within))])
        }
        return [
            ("accuracy", .number(g.accuracy)), ("logit_std", .number(g.logitScale)),
            ("mean_max_prob", .number(g.probabilities.meanMaxProbability)), ("mean_entropy_bits", .number(g.probabilities.meanEntropyBits)),
            ("q_slsc", .number(g.clustering.qSLSC)), ("q_sl", .number(g.clustering.qSL)), ("q_dl", .number(g.clustering.qDL)),
            ("mean_logit_grad_norm", .number(g.meanLogitGradientNorm)), ("mean_logit_grad_norm_squared", .number(m.meanSquaredNorm)),
            ("sigma_c_est", .number(m.sigmaC)), ("sigma_d_est", .number(m.sigmaD)), ("sigma_s_est", .number(m.sigmaS)),
            ("sigma_e_est", .number(m.sigmaE)), ("class_lengths_est", .numbers(m.lengths)),
            ("paper_sigma_c_est", .number(m.paperSigmaC)), ("paper_sigma_e_est", .number(m.paperSigmaE)),
            ("class_mean_lengths", .numbers((0..<c).map { max(m.meanGram[$0 * c + $0, $0 * c + $0], 0).squareRoot() })),
            ("ggn_eigenvalues_top", .numbers(Array(s.gaussNewton.eigenvalues.prefix(top)))),
            ("ggn_trace", .number(s.trace)), ("ggn_trace_over_norm", .number(g.gaussNewtonTraceOverNorm)),
            ("ggn_bulk_edge", .number(s.outliers.bulkEdge)), ("ggn_outlier_margin", .number(s.outliers.margin)),
            ("ggn_outliers", .integer(s.outliers.outliers)),
            ("ggn_outliers_by_level", .object(ClassStructure.Level.allCases.map { ($0.rawValue, .integer(byLevel[$0] ?? 0)) })),
            ("ggn_class_top", .numbers(Array(s.classSpectrum.prefix(top)))),
            ("ggn_cross_top", .numbers(Array(s.crossSpectrum.prefix(top)))),
            ("ggn_within_top", .numbers(Array(s.withinSpectrum.prefix(top)))),
            ("ggn_bulk_top", .numbers(Array(s.bulkSpectrum.prefix(top)))),
            ("ggn_level_traces", levels(s.traces)),
            ("outlier_levels", .array(outlierLevels)),
            ("largest_gap_index", .integer(s.largestGapIndex)),
            ("gradient_power_top_k_ggn", .number(g.gradientPower(top: topK))),
        ]
    }

    /// The G-term spectrum with cos²(g, u_i), the cumulative gradient power and the level shares of
    /// each eigenvector: `index,eigenvalue,cos2,cumulative_power,class,cross,within`.
    public static func overlapCSV(_ g: GramStatistics) -> Data {
        let s = g.structure
        var out = "index,eigenvalue,cos2,cumulative_power,class,cross,within\n"
        var cumulative = 0.0
        for i in s.gaussNewton.eigenvalues.indices {
            let c2 = i < s.gaussNewton.gradientCosineSquared.count ? s.gaussNewton.gradientCosineSquared[i] : .nan
            cumulative += c2
            let l = s.levels[i]
            out += "\(i + 1)," + [s.gaussNewton.eigenvalues[i], c2, cumulative, l.classLevel, l.cross, l.within]
                .map(formatNumber).joined(separator: ",") + "\n"
        }
        return Data(out.utf8)
    }

    /// The spectra of G and of its four terms, for the class-structure figure.
    public static func spectrumFiles(_ g: GramStatistics, prefix: String = "ggn") -> [(String, Data)] {
        let s = g.structure
        return [("\(prefix)_spectrum.npy", NPY.encode(s.gaussNewton.eigenvalues)),
                ("\(prefix)_class_spectrum.npy", NPY.encode(s.classSpectrum)),
                ("\(prefix)_cross_spectrum.npy", NPY.encode(s.crossSpectrum)),
                ("\(prefix)_within_spectrum.npy", NPY.encode(s.withinSpectrum)),
                ("\(prefix)_bulk_spectrum.npy", NPY.encode(s.bulkSpectrum))]
    }

    /// `example,label,p0,…` for each example.
    public static func probabilitiesCSV(_ source: LogitGradientGram) -> Data {
        let c = source.classes
        var out = "example,label," + (0..<c).map { "p\($0)" }.joined(separator: ",") + "\n"
        for e in 0..<source.examples {
            out += "\(e),\(source.labels[e])," + (0..<c).map { formatNumber(source.probabilities[e * c + $0]) }.joined(separator: ",") + "\n"
        }
        return Data(out.utf8)
    }
}
