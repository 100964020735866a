import ArgumentParser
import FortGanguli
import Foundation
import Reports

/// `fortganguli phase`: outliers over the (σ_z, SNR) plane, from simulation and from theory.
struct PhaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phase",
        abstract: "Map the number of outliers over σ_z × SNR (log grids), simulated and predicted; rows stream to phase.csv and reruns resume.")

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("sigma-z-min"), parsing: .unconditional, help: "Smallest σ_z.") var sigmaZMin = 1e-2
    @Option(name: .customLong("sigma-z-max"), parsing: .unconditional, help: "Largest σ_z.") var sigmaZMax = 1e2
    @Option(name: .customLong("sigma-z-points"), help: "σ_z grid points.") var sigmaZPoints = Count(12)
    @Option(name: .customLong("snr-min"), parsing: .unconditional, help: "Smallest SNR = σ_c²/σ_E².") var snrMin = 1e-2
    @Option(name: .customLong("snr-max"), parsing: .unconditional, help: "Largest SNR.") var snrMax = 1e1
    @Option(name: .customLong("snr-points"), help: "SNR grid points.") var snrPoints = Count(12)
    @Option(help: "Seeds per cell.") var seeds = Count(1)
    @Option(help: "First seed.") var seed: UInt64 = 0
    @Option(help: "Output folder (phase.csv and its manifest phase.json).") var output = "results/phase"

    func run() throws {
        let grid = PhaseGrid(base: model.configuration(seed: seed), sigmaZMin: sigmaZMin, sigmaZMax: sigmaZMax,
                             sigmaZPoints: sigmaZPoints.value, snrMin: snrMin, snrMax: snrMax, snrPoints: snrPoints.value,
                             seeds: seeds.value)
        try PhaseRunner.run(grid, folder: output)
    }
}

/// Runs a phase grid into a resumable table. Shared by `phase` and `reproduce`.
enum PhaseRunner {
    static let header = ["sigma_z_point", "snr_point", "seed", "sigma_z", "snr", "sigma_c", "outliers", "top_eigenvalue",
                         "bulk_edge", "outlier_margin", "top_gap_relative", "gradient_power_top_k", "theory_outliers", "theory_outliers_bbp",
                         "theory_bulk_edge", "theory_top_outlier", "theory_bbp_threshold", "top_spike"]

    static func run(_ grid: PhaseGrid, folder output: String) throws {
        try grid.validate()
        try ModelSimulation.checkResources(grid.configuration(sigmaZPoint: 0, snrPoint: 0, seed: 0))
        var manifest = SweepRunner.manifest(grid.sigmaZ)
        if case .object(var pairs) = manifest {
            pairs += [("snr_min", .number(grid.snrMin)), ("snr_max", .number(grid.snrMax)), ("snr_points", .integer(grid.snrPoints)),
                      ("mode", .string(grid.base.mode.rawValue))]
            manifest = .object(pairs)
        }
        let table = try ResumableTable(folder: output, name: "phase.csv", header: header, keyColumns: 3, manifest: manifest)
        var cells: [(i: Int, j: Int, config: ModelConfiguration)] = []
        for i in 0..<grid.sigmaZ.points { for j in 0..<grid.snrPoints { for k in 0..<grid.seeds {
            cells.append((i, j, grid.configuration(sigmaZPoint: i, snrPoint: j, seed: k)))
        } } }
        try table.fill(cells, label: "phase", key: { [String($0.i), String($0.j), String($0.config.seed)] }) { i, j, c in
            let m = try ModelSimulation.run(c)
            // The theory of this very sample (its signal Gram), its outliers counted by the
            // simulation's rule: above the edge by the sampled margin. Eq. 10 has no theory (nan).
            let theory = c.hessian == .paper ? try? ModelTheory(c, signalGram: m.signalGram) : nil
            let top = m.eigenvalues.first ?? .nan
            return ([String(i), String(j), String(c.seed), formatNumber(c.sigmaZ), formatNumber(grid.snrGrid[j]),
                              formatNumber(c.sigmaC), String(m.outliers.outliers), formatNumber(top),
                              formatNumber(m.outliers.bulkEdge), formatNumber(m.outliers.margin),
                              formatNumber((top - m.outliers.bulkEdge) / m.outliers.bulkEdge), formatNumber(m.gradientPowerTopK),
                              theory.map { String($0.outliers(margin: m.outliers.margin)) } ?? "nan", theory.map { String($0.outliers) } ?? "nan",
                              formatNumber(theory?.bulk.edge ?? .nan), formatNumber(theory?.outlierPositions.first ?? .nan),
                              formatNumber(theory?.bulk.bbpThreshold ?? .nan), formatNumber(theory?.spikes.first ?? .nan)],
                    String(format: "σ_z = %.3g, SNR = %.3g: %d outliers (theory %@)", c.sigmaZ, grid.snrGrid[j],
                           m.outliers.outliers, theory.map { String($0.outliers(margin: m.outliers.margin)) } ?? "–"))
        }
        print("phase: \(cells.count) rows in \(table.url.path)")
    }
}
