import ArgumentParser
import FortGanguli
import Foundation

/// `fortganguli simulate`: one configuration of the model, all statistics.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Sample the model once and write summary.json, spectrum.npy and overlap.csv.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Random seed; the same seed gives identical files.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/simulate"

    func run() throws {
        let config = model.configuration(seed: seed)
        try config.validate()
        try ModelSimulation.checkResources(config)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let m = try ModelSimulation.run(config)
        try ModelReport.write(m, to: folder)
        try folder.commit()
        print(String(format: "σ_z = %g: mean max p %.3f, q^SL %.3f, %d outliers above bulk edge %.4g, top-%d gradient power %.3f, Trace/‖H‖ %.3g (%.2f s)",
                     config.sigmaZ, m.probabilities.meanMaxProbability, m.clustering.qSL, m.outliers.outliers,
                     m.outliers.bulkEdge, config.gradientPowerK, m.gradientPowerTopK, m.traceOverNorm.ratio, m.seconds))
        print("wrote \(folder.url.path)/{summary.json,spectrum.npy,overlap.csv}")
    }
}
