import FortGanguli
import Foundation
import Landscape

/// How a model measurement is written: `summary.json`, `spectrum.npy`, `overlap.csv`, and, when the
/// model's own Gram was measured, the same `ggn_*` keys and spectra as `measure` writes.
public enum ModelReport {
    public static func summary(_ m: ModelMeasurement, extra: [(String, JSON)] = []) -> JSON {
        let c = m.configuration
        var pairs: [(String, JSON)] = [
            ("examples", .integer(c.examples)),
            ("classes", .integer(c.classes)),
            ("dimension", .integer(c.dimension)),
            ("sigma_z", .number(c.sigmaZ)),
            ("sigma_c", .number(c.sigmaC)),
            ("sigma_d", .number(c.sigmaD)),
            ("sigma_s", .number(c.sigmaS)),
            ("sigma_e", .number(c.sigmaE)),
            ("accuracy", .number(c.accuracy)),
            ("length_spread", .number(c.lengthSpread)),
            ("seed", .unsigned(c.seed)),
            ("hessian", .string(c.hessian.rawValue)),
            ("mode", .string(m.mode.rawValue)),
            ("spectrum", .string(m.spectrum.rawValue)),
            ("eigenvalues_computed", .integer(m.eigenvalues.count)),
            ("mean_max_prob", .number(m.probabilities.meanMaxProbability)),
            ("mean_entropy_bits", .number(m.probabilities.meanEntropyBits)),
            ("q_slsc", .number(m.clustering.qSLSC)),
            ("q_sl", .number(m.clustering.qSL)),
            ("q_dl", .number(m.clustering.qDL)),
            ("q_slsc_expected", .number(c.expectedQSLSC)),
            ("q_sl_expected", .number(c.expectedQSL)),
            ("zero_eigenvalues", .integer(m.zeroEigenvalues)),
            ("eigenvalues_top", .numbers(Array(m.eigenvalues.prefix(2 * c.classes)))),
            ("bulk_edge", .number(m.outliers.bulkEdge)),
            ("outlier_margin", .number(m.outliers.margin)),
            ("outliers", .integer(m.outliers.outliers)),
            ("top_k", .integer(c.gradientPowerK)),
            ("gradient_power_top_k", .number(m.gradientPowerTopK)),
            ("trace", .number(m.traceOverNorm.trace)),
            ("spectral_norm", .number(m.traceOverNorm.spectralNorm)),
            ("trace_over_norm", .number(m.traceOverNorm.ratio)),
            ("hyperplane_dimension", .integer(c.hyperplaneDimension)),
            ("hyperplanes", .integer(c.hyperplanes)),
            ("trace_over_norm_hyperplane", .number(m.hyperplane.mean)),
            ("trace_over_norm_hyperplane_standard_error", .number(m.hyperplane.standardError)),
        ]
        if let g = m.gram {
            // The model's own Gram through the code that measures networks; the keys the model
            // already reports (accuracy and probabilities are the configuration's draws) are not repeated.
            let shared: Set<String> = ["mean_max_prob", "mean_entropy_bits", "q_slsc", "q_sl", "q_dl", "accuracy"]
            pairs += [("measured_accuracy", .number(g.accuracy))]
            pairs += GramReport.fields(g, topK: c.gradientPowerK).filter { !shared.contains($0.0) }
        }
        pairs += extra
        pairs.append(("seconds", .number(m.seconds)))
        return .object(pairs)
    }

    /// One row per eigenvector, descending eigenvalue: index, eigenvalue, cos², cumulative gradient power.
    public static func overlapCSV(_ m: ModelMeasurement) -> Data {
        var s = "index,eigenvalue,cos2,cumulative_power\n"
        var cumulative = 0.0
        for (i, (lambda, c2)) in zip(m.eigenvalues, m.gradientCosineSquared).enumerated() {
            cumulative += c2
            s += "\(i + 1),\(formatNumber(lambda)),\(formatNumber(c2)),\(formatNumber(cumulative))\n"
        }
        return Data(s.utf8)
    }

    /// summary.json, spectrum.npy (all nonzero eigenvalues, or with `--spectrum top` the top r, as
    /// `eigenvalues_computed` says), overlap.csv (a row per computed eigenvector), and with the model's Gram statistics the G-term's
    /// spectra by level (`ggn_*_spectrum.npy`) and `overlap_ggn.csv`.
    public static func files(_ m: ModelMeasurement, extra: [(String, JSON)] = []) -> [(String, Data)] {
        var files: [(String, Data)] = [("summary.json", summary(m, extra: extra).data), ("spectrum.npy", NPY.encode(m.eigenvalues)),
                                       ("overlap.csv", overlapCSV(m))]
        if let g = m.gram { files += GramReport.spectrumFiles(g) + [("overlap_ggn.csv", GramReport.overlapCSV(g))] }
        return files
    }
}
