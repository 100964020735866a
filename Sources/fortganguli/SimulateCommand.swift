import ArgumentParser
import FortGanguli
import Foundation
import Reports

/// `fortganguli simulate`: one configuration of the model, all statistics.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Sample the model once and write summary.json, spectrum.npy and overlap.csv.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Random seed; the same seed gives identical files.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/simulate"
    @Flag(help: "Add the random-matrix prediction (theory_bulk_edge, theory_outliers, theory_eigenvalues_top) to summary.json.")
    var theory = false

    func run() throws {
        let config = model.configuration(seed: seed)
        try config.validate()
        try ModelSimulation.checkResources(config)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let m = try ModelSimulation.run(config)
        let prediction = theory ? try ModelTheory(config) : nil
        try ModelReport.write(m, extra: prediction.map(TheoryReport.summaryFields) ?? [], to: folder)
        try folder.commit()
        print(String(format: "σ_z = %g: mean max p %.3f, q^SL %.3f, %d outliers above bulk edge %.4g, top-%d gradient power %.3f, Trace/‖H‖ %.3g (%.2f s)",
                     config.sigmaZ, m.probabilities.meanMaxProbability, m.clustering.qSL, m.outliers.outliers,
                     m.outliers.bulkEdge, config.gradientPowerK, m.gradientPowerTopK, m.traceOverNorm.ratio, m.seconds))
        if let t = prediction {
            print(String(format: "theory: bulk edge %.4g, %d outliers, top at %.4g (sampled: %.4g)",
                         t.bulk.edge, t.outliers, t.outlierPositions.first ?? .nan, m.eigenvalues.first ?? .nan))
        }
        print("wrote \(folder.url.path)/{summary.json,spectrum.npy,overlap.csv}")
    }
}
