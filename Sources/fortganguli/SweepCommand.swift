import ArgumentParser
import FortGanguli
import Foundation
import Reports

/// `fortganguli sweep`: the model over a log-spaced σ_z grid, one CSV row per finished (point, seed).
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep σ_z on a log grid (several seeds a point), appending rows to sweep.csv; reruns resume.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var grid: SweepOptions
    @Option(parsing: .unconditional, help: "First seed, 0 to 2⁶⁴ − 1; point seeds are seed, seed+1, … (wrapping past 2⁶⁴ − 1 to 0).")
    var seed = Number(UInt64(0))
    @Option(help: "Output folder (sweep.csv and its manifest sweep.json).") var output = "results/sweep"
    @OptionGroup var sharding: ShardOptions

    func run() throws {
        let shard = try sharding.resolve()
        let sweep = try grid.sweep(base: model.configuration(seed: seed.seed("--seed")))
        try SweepRunner.run(sweep, folder: output, label: "sweep", shard: shard)
    }
}

/// Grid options shared by commands that sweep σ_z.
struct SweepOptions: ParsableArguments {
    @Option(name: .customLong("sigma-z-min"), parsing: .unconditional, help: "Smallest σ_z of the grid, in (0, 1e50].") var sigmaZMin = Number(1e-3)
    @Option(name: .customLong("sigma-z-max"), parsing: .unconditional, help: "Largest σ_z of the grid, in [--sigma-z-min, 1e50].") var sigmaZMax = Number(1e2)
    @Option(parsing: .unconditional, help: "Number of log-spaced σ_z points (points × seeds ≤ 100000).") var points = Number(41)
    @Option(parsing: .unconditional, help: "Seeds per point (points × seeds ≤ 100000).") var seeds = Number(3)
    @Option(help: "σ_c along the sweep: fixed, or power:γ (σ_c ∝ σ_z^γ, equal to --sigma-c at σ_z = --sigma-z; σ_E keeps its ratio to σ_c).")
    var growth = "fixed"
    @Flag(name: .customLong("independent-draws"), help: "A fresh seed for every (point, seed); by default each seed's draw (logits ξ, labels, generators) is reused at every point (common random numbers: smooth curves, correlated rows).")
    var independentDraws = false

    /// The sweep these options describe around `base`, every flag checked by its own name and the
    /// whole grid (both ends, the growth law, the memory a point takes) before anything is written.
    func sweep(base: ModelConfiguration) throws -> SigmaZSweep {
        let zMin = try sigmaZMin.real("--sigma-z-min", above: 0, upTo: ModelConfiguration.maximumScale)
        let zMax = try sigmaZMax.real("--sigma-z-max", above: zMin, lowInclusive: true, upTo: ModelConfiguration.maximumScale)
        let limit = SigmaZSweep.maximumRows
        let n = try points.whole("--points", in: 1...limit)
        let k = try seeds.whole("--seeds", in: 1...(limit / n), " (--points × --seeds is at most \(limit))")
        guard let law = SigmaCGrowth(growth, anchor: base.sigmaZ) else {
            throw ToolError("--growth is \(growth); use fixed or power:γ with a finite γ, e.g. power:0.25")
        }
        let s = SigmaZSweep(base: base, sigmaZMin: zMin, sigmaZMax: zMax, points: n, seeds: k, growth: law, independentDraws: independentDraws)
        try s.validate()
        for p in Set([0, s.points - 1]) { try ModelOptions.checkResources(s.configuration(point: p, seed: 0)) }
        return s
    }

    /// The manifest entries of the grid, keyed by flag (`seed` is the first seed, exact).
    static func manifest(_ s: SigmaZSweep) -> [(String, JSON)] {
        [("sigma_z_min", .number(s.sigmaZMin)), ("sigma_z_max", .number(s.sigmaZMax)), ("points", .integer(s.points)),
         ("seeds", .integer(s.seeds)), ("growth", .string(s.growth.description)), ("seed", .unsigned(s.base.seed)),
         ("independent_draws", .bool(s.independentDraws))]
    }
}

/// Runs a sweep into a resumable table. Shared by `sweep` and `reproduce`.
enum SweepRunner {
    /// `trace` is exact (the trace of the model's Gram-space matrix), so its standard error is 0.
    static let header = ["point", "sigma_z", "seed", "sigma_c", "sigma_d", "sigma_s", "sigma_e", "mean_max_prob", "mean_entropy_bits",
                         "q_slsc", "q_sl", "q_dl", "top_eigenvalue", "bulk_edge", "outliers", "gradient_power_top_k",
                         "trace", "trace_standard_error", "spectral_norm", "trace_over_norm", "trace_over_norm_hyperplane",
                         "trace_over_norm_hyperplane_standard_error"]

    /// Every argument that changes the rows: the model's options and the grid's.
    static func manifest(_ s: SigmaZSweep) -> JSON { .object(ModelOptions.manifest(s.base) + SweepOptions.manifest(s)) }

    static func run(_ s: SigmaZSweep, folder: String, label: String, shard: Shard? = nil) throws {
        let table = try ResumableTable(folder: shard?.folder(folder) ?? folder, name: "sweep.csv", header: header, keyColumns: 3,
                                       manifest: manifest(s))
        let reuse = DrawReuse()  // each seed's Bartlett factor serves every point (--spectrum top)
        let cells = (0..<s.points).flatMap { p in (0..<s.seeds).map { (p, s.configuration(point: p, seed: $0)) } }
        try table.fill(cells, shard: shard, label: label, key: { [String($0.0), formatNumber($0.1.sigmaZ), String($0.1.seed)] }) { p, c in
            let m = try ModelSimulation.run(c, reuse: reuse)
            return ([String(p), formatNumber(c.sigmaZ), String(c.seed), formatNumber(c.sigmaC), formatNumber(c.sigmaD),
                              formatNumber(c.sigmaS), formatNumber(c.sigmaE),
                              formatNumber(m.probabilities.meanMaxProbability), formatNumber(m.probabilities.meanEntropyBits),
                              formatNumber(m.clustering.qSLSC), formatNumber(m.clustering.qSL), formatNumber(m.clustering.qDL),
                              formatNumber(m.eigenvalues.first ?? .nan), formatNumber(m.outliers.bulkEdge), String(m.outliers.outliers),
                              formatNumber(m.gradientPowerTopK), formatNumber(m.traceOverNorm.trace), "0",
                              formatNumber(m.traceOverNorm.spectralNorm), formatNumber(m.traceOverNorm.ratio),
                              formatNumber(m.hyperplane.mean), formatNumber(m.hyperplane.standardError)],
                    String(format: "σ_z = %.3g seed %@: λ₁ %.3g, %d outliers", c.sigmaZ, String(c.seed), m.eigenvalues.first ?? .nan, m.outliers.outliers))
        }
        print("\(label): \(Shard.rows(shard, of: cells.count)) rows in \(table.url.path)")
    }
}
