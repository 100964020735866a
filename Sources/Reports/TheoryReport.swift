import FortGanguli
import Foundation
import Landscape

/// How a theory prediction is written.
public enum TheoryReport {
    public static func json(_ t: ModelTheory) -> JSON {
        let c = t.configuration
        return .object([
            ("examples", .integer(c.examples)), ("classes", .integer(c.classes)), ("dimension", .integer(c.dimension)),
            ("sigma_z", .number(c.sigmaZ)), ("sigma_c", .number(c.sigmaC)), ("sigma_e", .number(c.sigmaE)),
            ("sigma_d", .number(c.sigmaD)), ("sigma_s", .number(c.sigmaS)), ("length_spread", .number(c.lengthSpread)),
            ("seed", .unsigned(c.seed)),
            ("bulk_edge", .number(t.bulk.edge)), ("mass_at_zero", .number(t.bulk.massAtZero)),
            ("bbp_threshold", .number(t.bulk.bbpThreshold)), ("spikes", .numbers(t.spikes)),
            ("outliers", .integer(t.outliers)), ("outlier_positions", .numbers(t.outlierPositions)),
        ])
    }

    /// The bulk density on a grid from 0 to 1.05·λ₊.
    public static func densityCSV(_ t: ModelTheory, points: Int) -> Data {
        let grid = (0..<points).map { 1.05 * t.bulk.edge * Double($0 + 1) / Double(points) }
        let rho = t.bulk.density(on: grid)
        var s = "lambda,density\n"
        for (x, y) in zip(grid, rho) { s += "\(formatNumber(x)),\(formatNumber(y))\n" }
        return s.data(using: .utf8)!
    }

    /// The keys `simulate --theory` adds beside the sampled values: `theory_outliers` counts the
    /// predicted positions by the simulation's own rule (above the edge by the sampled `margin`),
    /// `theory_outliers_bbp` every spike above the BBP threshold (the N, D → ∞ count).
    public static func summaryFields(_ t: ModelTheory, margin: Double) -> [(String, JSON)] {
        [("theory_bulk_edge", .number(t.bulk.edge)), ("theory_outliers", .integer(t.outliers(margin: margin))),
         ("theory_outliers_bbp", .integer(t.outliers)),
         ("theory_eigenvalues_top", .numbers(t.outlierPositions)), ("theory_bbp_threshold", .number(t.bulk.bbpThreshold)),
         ("theory_mass_at_zero", .number(t.bulk.massAtZero))]
    }
}
