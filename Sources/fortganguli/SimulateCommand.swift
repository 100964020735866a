import ArgumentParser
import FortGanguli
import Foundation
import Reports
import Landscape

/// `fortganguli simulate`: one configuration of the model, all statistics.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Sample the model once and write summary.json, spectrum.npy, overlap.csv and the class structure of its G-term (--spectrum full), or the outlier statistics alone (--spectrum top).")

    @OptionGroup var model: ModelOptions
    @Option(parsing: .unconditional, help: "Random seed, 0 to 2⁶⁴ − 1; the same seed gives identical files.") var seed = Number(UInt64(0))
    @Option(help: "Output folder.") var output = "results/simulate"
    @Flag(help: "Add the random-matrix prediction (theory_bulk_edge, theory_outliers, theory_eigenvalues_top) to summary.json; eq. 16 only.")
    var theory = false
    @Flag(name: .customLong("write-gram"),
          help: "Also write the model's logit-gradient Gram as gram.npy, logits.npy, labels.npy and meta.json (the --gram format; any D).")
    var writeGram = false

    func run() throws {
        let seed = try self.seed.seed("--seed")
        let config = try model.configuration(seed: seed)
        if theory && config.hessian == .full {
            throw ToolError("--theory is derived for eq. 16 only; drop --theory or use --hessian paper")
        }
        if theory && config.sigmaE == 0 {
            throw ToolError("--sigma-e is 0: the noise term, whose bulk --theory describes, is empty; give --sigma-e > 0 or drop --theory")
        }
        if writeGram && config.spectrum == .top {
            throw ToolError("--write-gram writes the logit-gradient Gram, which --spectrum top never forms; give --spectrum full")
        }
        try ModelOptions.checkResources(config, gramStatistics: true, theory: theory)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let m = try ModelSimulation.run(config, gramStatistics: true)
        let prediction = theory ? try ModelTheory(config, signalGram: m.signalGram) : nil
        var files = ModelReport.files(m, extra: prediction.map { TheoryReport.summaryFields($0, margin: m.outliers.margin) } ?? [])
        if writeGram, let g = m.gram { files += GramFolder.files(g.source, name: "fortganguli simulate, seed \(seed)") }
        for (name, data) in files { try folder.write(name, data) }
        try folder.commit()
        print(String(format: "σ_z = %g: mean max p %.3f, q^SLSC %.3f, q^SL %.3f, %d outliers above bulk edge %.4g, top-%d gradient power %.3f, Trace/‖H‖ %.3g (%.2f s)",
                     config.sigmaZ, m.probabilities.meanMaxProbability, m.clustering.qSLSC, m.clustering.qSL, m.outliers.outliers,
                     m.outliers.bulkEdge, config.gradientPowerK, m.gradientPowerTopK, m.traceOverNorm.ratio, m.seconds))
        if let g = m.gram {
            print(String(format: "G-term: λ₁ %.4g, bulk edge %.4g, %d outliers (%@), largest gap after %d",
                         g.structure.gaussNewton.eigenvalues.first ?? .nan, g.structure.outliers.bulkEdge, g.structure.outliers.outliers,
                         NetworkReport.levelCounts(g.structure), g.structure.largestGapIndex))
        }
        if let t = prediction {
            print(String(format: "theory: bulk edge %.4g, %d outliers by the simulation's rule (%d above the BBP threshold), top at %.4g (sampled: %.4g)",
                         t.bulk.edge, t.outliers(margin: m.outliers.margin), t.outliers, t.outlierPositions.first ?? .nan,
                         m.eigenvalues.first ?? .nan))
        }
        print("wrote \(folder.url.path)/{\(files.map(\.0).joined(separator: ","))}")
    }
}
