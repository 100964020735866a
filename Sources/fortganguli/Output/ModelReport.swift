import FortGanguli
import Foundation
import Reports
import Landscape

/// How a model measurement is written: `summary.json`, `spectrum.npy` and `overlap.csv`.
enum ModelReport {
    static func summary(_ m: ModelMeasurement, extra: [(String, JSON)] = []) -> JSON {
        let c = m.configuration
        return .object([
            ("examples", .integer(c.examples)),
            ("classes", .integer(c.classes)),
            ("dimension", .integer(c.dimension)),
            ("sigma_z", .number(c.sigmaZ)),
            ("sigma_c", .number(c.sigmaC)),
            ("sigma_e", .number(c.sigmaE)),
            ("accuracy", .number(c.accuracy)),
            ("length_spread", .number(c.lengthSpread)),
            ("seed", .integer(Int(c.seed))),
            ("hessian", .string(c.hessian.rawValue)),
            ("mode", .string(m.mode.rawValue)),
            ("mean_max_prob", .number(m.probabilities.meanMaxProbability)),
            ("mean_entropy_bits", .number(m.probabilities.meanEntropyBits)),
            ("q_slsc", .number(m.clustering.qSLSC)),
            ("q_sl", .number(m.clustering.qSL)),
            ("q_dl", .number(m.clustering.qDL)),
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
            ("trace_over_norm_hyperplane", .number(m.hyperplaneTraceOverNorm)),
            ("seconds", .number(m.seconds)),
        ] + extra)
    }

    /// One row per eigenvector, descending eigenvalue: index, eigenvalue, cos², cumulative gradient power.
    static func overlapCSV(_ m: ModelMeasurement) -> Data {
        var s = "index,eigenvalue,cos2,cumulative_power\n"
        var cumulative = 0.0
        for (i, (lambda, c2)) in zip(m.eigenvalues, m.gradientCosineSquared).enumerated() {
            cumulative += c2
            s += "\(i + 1),\(formatNumber(lambda)),\(formatNumber(c2)),\(formatNumber(cumulative))\n"
        }
        return s.data(using: .utf8)!
    }

    /// Writes the three files into `folder` (staged; the caller commits).
    static func write(_ m: ModelMeasurement, extra: [(String, JSON)] = [], to folder: OutputFolder) throws {
        try folder.write("summary.json", summary(m, extra: extra).data)
        try folder.write("spectrum.npy", NPY.encode(m.eigenvalues))
        try folder.write("overlap.csv", overlapCSV(m))
    }
}
