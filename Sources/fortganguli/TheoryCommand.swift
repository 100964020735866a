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

