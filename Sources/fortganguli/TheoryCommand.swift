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
    @Option(parsing: .unconditional, help: "Seed of the sampled probabilities p the prediction is conditional on, 0 to 2⁶⁴ − 1.")
    var seed = Number(UInt64(0))
    @Option(parsing: .unconditional,
            help: "Represent the τ distribution by this many examples at the same N/D (the N, D → ∞ limit), --examples to 10000000.")
    var limitExamples: Number?
    @Option(parsing: .unconditional, help: "Points of the density curve, 2 to 1000000.") var densityPoints = Number(400)
    @Option(help: "Output folder (theory.json, density.csv).") var output = "results/theory"

    /// The most examples `--limit-examples` takes: each costs a C×C eigen-decomposition.
    static let maximumLimitExamples = 10_000_000
    /// The most points of the density curve: each is a root-finding of the Stieltjes equation.
    static let maximumDensityPoints = 1_000_000

    func run() throws {
        let config = try model.configuration(seed: seed.seed("--seed"))
        let points = try densityPoints.whole("--density-points", in: 2...TheoryCommand.maximumDensityPoints)
        let limit = try limitExamples?.whole("--limit-examples", in: config.examples...max(config.examples, TheoryCommand.maximumLimitExamples),
                                             " (at least --examples, \(config.examples))")
        if config.hessian == .full { throw ToolError("the theory is derived for eq. 16 only; use --hessian paper (eq. 10's cross terms are not in it)") }
        if config.sigmaE == 0 { throw ToolError("--sigma-e is 0: the noise term, whose bulk the theory describes, is empty; give --sigma-e > 0") }
        if config.resolvedMode == .dense { try ModelOptions.checkResources(config) }
        try ModelOptions.checkMemory(MemoryEstimate.theory(config, limitExamples: limit, densityPoints: points))
        let theory = try ModelTheory(config, limitExamples: limit)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        try folder.write("theory.json", TheoryReport.json(theory).data)
        try folder.write("density.csv", TheoryReport.densityCSV(theory, points: points))
        try folder.commit()
        let b = theory.bulk
        print(String(format: "bulk edge λ₊ = %.6g, mass at zero %.4f, BBP threshold θ > %.6g", b.edge, b.massAtZero, b.bbpThreshold))
        print("spikes θ: " + theory.spikes.map { String(format: "%.4g", $0) }.joined(separator: " "))
        print("\(theory.outliers) predicted outliers at: " + theory.outlierPositions.map { String(format: "%.4g", $0) }.joined(separator: " "))
        print("wrote \(folder.url.path)/{theory.json,density.csv}")
    }
}

