import ArgumentParser
import FortGanguli
import Foundation
import Reports
import Landscape

/// `fortganguli theory`: the random-matrix prediction for one configuration, no gradient sampling.
struct TheoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "theory",
        abstract: "Predict the bulk (density, edge, mass at zero) and the BBP outliers of the eq. 16 model, without sampling gradients.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Seed of the sampled probabilities p the prediction is conditional on.") var seed: UInt64 = 0
    @Option(help: "Represent the τ distribution by this many examples at the same N/D (the N, D → ∞ limit).")
    var limitExamples: Count?
    @Option(help: "Points of the density curve.") var densityPoints = Count(400)
    @Option(help: "Output folder (theory.json, density.csv).") var output = "results/theory"

    func run() throws {
        let config = model.configuration(seed: seed)
        try config.validate()
        guard densityPoints.value >= 2 else { throw ToolError("--density-points is \(densityPoints.value); give at least 2") }
        if let l = limitExamples?.value, l < config.examples {
            throw ToolError("--limit-examples is \(l); it must be at least --examples (\(config.examples))")
        }
        let theory = try ModelTheory(config, limitExamples: limitExamples?.value)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        try folder.write("theory.json", TheoryReport.json(theory).data)
        try folder.write("density.csv", TheoryReport.densityCSV(theory, points: densityPoints.value))
        try folder.commit()
        let b = theory.bulk
        print(String(format: "bulk edge λ₊ = %.6g, mass at zero %.4f, BBP threshold θ > %.6g", b.edge, b.massAtZero, b.bbpThreshold))
        print("spikes θ: " + theory.spikes.map { String(format: "%.4g", $0) }.joined(separator: " "))
        print("\(theory.outliers) predicted outliers at: " + theory.outlierPositions.map { String(format: "%.4g", $0) }.joined(separator: " "))
        print("wrote \(folder.url.path)/{theory.json,density.csv}")
    }
}

/// How a theory prediction is written.
enum TheoryReport {
    static func json(_ t: ModelTheory) -> JSON {
        let c = t.configuration
        return .object([
            ("examples", .integer(c.examples)), ("classes", .integer(c.classes)), ("dimension", .integer(c.dimension)),
            ("sigma_z", .number(c.sigmaZ)), ("sigma_c", .number(c.sigmaC)), ("sigma_e", .number(c.sigmaE)),
            ("length_spread", .number(c.lengthSpread)), ("seed", .integer(Int(c.seed))),
            ("bulk_edge", .number(t.bulk.edge)), ("mass_at_zero", .number(t.bulk.massAtZero)),
            ("bbp_threshold", .number(t.bulk.bbpThreshold)), ("spikes", .numbers(t.spikes)),
            ("outliers", .integer(t.outliers)), ("outlier_positions", .numbers(t.outlierPositions)),
        ])
    }

    /// The bulk density on a grid from 0 to 1.05·λ₊.
    static func densityCSV(_ t: ModelTheory, points: Int) -> Data {
        let grid = (0..<points).map { 1.05 * t.bulk.edge * Double($0 + 1) / Double(points) }
        let rho = t.bulk.density(on: grid)
        var s = "lambda,density\n"
        for (x, y) in zip(grid, rho) { s += "\(formatNumber(x)),\(formatNumber(y))\n" }
        return s.data(using: .utf8)!
    }

    /// The keys `simulate --theory` adds beside the sampled values.
    static func summaryFields(_ t: ModelTheory) -> [(String, JSON)] {
        [("theory_bulk_edge", .number(t.bulk.edge)), ("theory_outliers", .integer(t.outliers)),
         ("theory_eigenvalues_top", .numbers(t.outlierPositions)), ("theory_bbp_threshold", .number(t.bulk.bbpThreshold)),
         ("theory_mass_at_zero", .number(t.bulk.massAtZero))]
    }
}
