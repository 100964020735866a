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
    @Option(name: .customLong("sigma-z-min"), parsing: .unconditional, help: "Smallest σ_z, in (0, 1e50].") var sigmaZMin = Number(1e-2)
    @Option(name: .customLong("sigma-z-max"), parsing: .unconditional, help: "Largest σ_z, in [--sigma-z-min, 1e50].") var sigmaZMax = Number(1e2)
    @Option(name: .customLong("sigma-z-points"), parsing: .unconditional, help: "σ_z grid points (cells × seeds ≤ 100000).") var sigmaZPoints = Number(12)
    @Option(name: .customLong("snr-min"), parsing: .unconditional, help: "Smallest SNR = σ_c²/σ_E², > 0.") var snrMin = Number(1e-2)
    @Option(name: .customLong("snr-max"), parsing: .unconditional, help: "Largest SNR, at least --snr-min (σ_E·√SNR ≤ 1e50).") var snrMax = Number(1e1)
    @Option(name: .customLong("snr-points"), parsing: .unconditional, help: "SNR grid points (cells × seeds ≤ 100000).") var snrPoints = Number(12)
    @Option(parsing: .unconditional, help: "Seeds per cell (cells × seeds ≤ 100000).") var seeds = Number(1)
    @Option(parsing: .unconditional, help: "First seed, 0 to 2⁶⁴ − 1 (cell seeds wrap past 2⁶⁴ − 1 to 0).") var seed = Number(UInt64(0))
    @Option(help: "Output folder (phase.csv and its manifest phase.json).") var output = "results/phase"
    @Flag(name: .customLong("independent-draws"), help: "A fresh seed for every (cell, seed); by default each seed's draw is reused in every cell (common random numbers).")
    var independentDraws = false
    @OptionGroup var sharding: ShardOptions

    func run() throws {
        let shard = try sharding.resolve()
        // The phase diagram needs only the outlier statistics: --spectrum top unless asked otherwise (eq. 16).
        let base = try model.configuration(seed: seed.seed("--seed"), defaultSpectrum: model.hessian == .paper ? .top : .full)
        let zMin = try sigmaZMin.real("--sigma-z-min", above: 0, upTo: ModelConfiguration.maximumScale)
        let zMax = try sigmaZMax.real("--sigma-z-max", above: zMin, lowInclusive: true, upTo: ModelConfiguration.maximumScale)
        guard base.sigmaE > 0 else { throw ToolError("--sigma-e is \(base.sigmaE); an SNR grid (σ_c = σ_E·√SNR) needs --sigma-e > 0") }
        // σ_c = σ_E·√SNR must stay within the model's scale limit at the largest SNR.
        let snrLimit = pow(ModelConfiguration.maximumScale / base.sigmaE, 2)
        let lo = try snrMin.real("--snr-min", above: 0, upTo: snrLimit, " (σ_c = --sigma-e·√SNR ≤ 1e50)")
        let hi = try snrMax.real("--snr-max", above: lo, lowInclusive: true, upTo: snrLimit, " (σ_c = --sigma-e·√SNR ≤ 1e50)")
        let limit = SigmaZSweep.maximumRows
        let zPoints = try sigmaZPoints.whole("--sigma-z-points", in: 1...limit)
        let sPoints = try snrPoints.whole("--snr-points", in: 1...(limit / zPoints), " (--sigma-z-points × --snr-points × --seeds is at most \(limit))")
        let k = try seeds.whole("--seeds", in: 1...(limit / (zPoints * sPoints)), " (--sigma-z-points × --snr-points × --seeds is at most \(limit))")
        let grid = PhaseGrid(base: base, sigmaZMin: zMin, sigmaZMax: zMax, sigmaZPoints: zPoints, snrMin: lo, snrMax: hi, snrPoints: sPoints, seeds: k,
                             independentDraws: independentDraws)
        try PhaseRunner.run(grid, folder: output, shard: shard)
    }

    /// The manifest entries of the grid, keyed by flag (`seed` is the first seed, exact).
    static func manifest(_ g: PhaseGrid) -> [(String, JSON)] {
        [("sigma_z_min", .number(g.sigmaZ.sigmaZMin)), ("sigma_z_max", .number(g.sigmaZ.sigmaZMax)),
         ("sigma_z_points", .integer(g.sigmaZ.points)), ("snr_min", .number(g.snrMin)), ("snr_max", .number(g.snrMax)),
         ("snr_points", .integer(g.snrPoints)), ("seeds", .integer(g.seeds)), ("seed", .unsigned(g.base.seed)),
         ("independent_draws", .bool(g.independentDraws))]
    }
}

/// Runs a phase grid into a resumable table. Shared by `phase` and `reproduce`.
enum PhaseRunner {
    static let header = ["sigma_z_point", "snr_point", "seed", "sigma_z", "snr", "sigma_c", "outliers", "top_eigenvalue",
                         "bulk_edge", "outlier_margin", "top_gap_relative", "gradient_power_top_k", "theory_outliers", "theory_outliers_bbp",
                         "theory_bulk_edge", "theory_top_outlier", "theory_bbp_threshold", "top_spike"]

    static func run(_ grid: PhaseGrid, folder output: String, shard: Shard? = nil) throws {
        try grid.validate()
        for (i, j) in [(0, 0), (grid.sigmaZ.points - 1, grid.snrPoints - 1)] {
            let c = grid.configuration(sigmaZPoint: i, snrPoint: j, seed: 0)
            try ModelOptions.checkResources(c, theory: c.hessian == .paper)
        }
        let manifest = JSON.object(ModelOptions.manifest(grid.base) + PhaseCommand.manifest(grid))
        let table = try ResumableTable(folder: shard?.folder(output) ?? output, name: "phase.csv", header: header, keyColumns: 3, manifest: manifest)
        var cells: [(i: Int, j: Int, config: ModelConfiguration)] = []
        for i in 0..<grid.sigmaZ.points { for j in 0..<grid.snrPoints { for k in 0..<grid.seeds {
            cells.append((i, j, grid.configuration(sigmaZPoint: i, snrPoint: j, seed: k)))
        } } }
        // Common random numbers: each seed's draw, and the noise term at each σ_z, serve every cell.
        let reuse = DrawReuse()
        try table.fill(cells, shard: shard, label: "phase", key: { [String($0.i), String($0.j), String($0.config.seed)] }) { i, j, c in
            let m = try ModelSimulation.outliers(c, reuse: reuse)
            // The theory of this very sample (its signal Gram), its outliers counted by the
            // simulation's rule: above the edge by the sampled margin. Eq. 10 has no theory (nan).
            let theory = c.hessian == .paper ? try? ModelTheory(c, signalGram: m.signalGram) : nil
            let top = m.topEigenvalues.first ?? .nan
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
        print("phase: \(Shard.rows(shard, of: cells.count)) rows in \(table.url.path)")
    }
}
