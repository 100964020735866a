import ArgumentParser
import FortGanguli
import Foundation
import Reports
import Landscape
import Linalg

/// `fortganguli reproduce`: the paper's model experiments, a table of its reported values beside
/// this run's, and the data files the figure notebooks read. Every step resumes if interrupted.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Run the paper's model experiments (Figs. 3b, 5–8) and print paper vs. measured values.")

    @Option(help: "Output folder.") var output = "results/reproduce"
    @Option(parsing: .unconditional, help: "Seeds for the single-configuration statistics, 1 to 1000.") var seeds = Number(5)
    @Option(parsing: .unconditional, help: "σ_z points of the sweep (paper: 1e-3 to 1e2), at least 2 (points × sweep seeds ≤ 100000).")
    var points = Number(41)
    @Option(name: .customLong("sweep-seeds"), parsing: .unconditional, help: "Seeds per sweep point (points × sweep seeds ≤ 100000).")
    var sweepSeeds = Number(3)
    @Option(help: "σ_c growth law of the Fig. 7 sweep (σ_c ∝ σ_z^γ, anchored at the paper's σ_z = 15).")
    var growth = "power:0.25"
    @Option(name: .customLong("phase-points"), parsing: .unconditional, help: "σ_z and SNR points of the phase diagram, 2 to 316.")
    var phasePoints = Number(10)
    @Option(name: .customLong("length-spread"), parsing: .unconditional, help: "Spread of class-mean lengths for the unequal-length run, in [0, 1).")
    var lengthSpread = Number(0.5)

    /// The most seeds of the single-configuration statistics (each is two whole simulations).
    static let maximumSeeds = 1000

    func run() throws {
        // Every argument is checked, and every step's grid, before the first file is written.
        let limit = SigmaZSweep.maximumRows
        let seedCount = try seeds.whole("--seeds", in: 1...ReproduceCommand.maximumSeeds)
        let pointCount = try points.whole("--points", in: 2...(limit / 2))
        let sweepSeedCount = try sweepSeeds.whole("--sweep-seeds", in: 1...(limit / pointCount), " (--points × --sweep-seeds is at most \(limit))")
        let phaseCount = try phasePoints.whole("--phase-points", in: 2...Int(Double(limit).squareRoot()), " (a square grid of at most \(limit) cells)")
        let spreadValue = try lengthSpread.real("--length-spread")
        let paper = ModelConfiguration()
        var spread = paper
        spread.lengthSpread = spreadValue
        try spread.validate()
        guard let law = SigmaCGrowth(growth, anchor: paper.sigmaZ) else {
            throw ToolError("--growth is \(growth); use fixed or power:γ with a finite γ, e.g. power:0.25")
        }
        let sweep = SigmaZSweep(base: paper, sigmaZMin: 1e-3, sigmaZMax: 1e2, points: pointCount,
                                seeds: sweepSeedCount, growth: law)
        try sweep.validate()
        let phase = PhaseGrid(base: paper, sigmaZMin: 1e-2, sigmaZMax: 1e2, sigmaZPoints: phaseCount,
                              snrMin: 1e-2, snrMax: 1e1, snrPoints: phaseCount, seeds: 1)
        try phase.validate()
        var conditional = paper
        (conditional.sigmaD, conditional.hessian) = (1.0, .full)
        try ModelOptions.checkResources(paper, theory: true)
        try ModelOptions.checkResources(conditional, gramStatistics: true)
        let root = URL(fileURLWithPath: output)

        let defaults = try runSeeds(paper, count: seedCount, into: root.appendingPathComponent("defaults"), label: "defaults")
        let unequal = try runSeeds(spread, count: seedCount, into: root.appendingPathComponent("spread"), label: "unequal lengths")
        try writeClassConditional(paper, to: root.appendingPathComponent("class-conditional"))
        try SweepRunner.run(sweep, folder: root.appendingPathComponent("sweep").path, label: "sweep")
        try writeSimplex(to: root)
        let theory = try ModelTheory(paper)
        let theoryFolder = try OutputFolder(root.appendingPathComponent("theory").path)
        defer { theoryFolder.abandon() }
        try theoryFolder.write("theory.json", TheoryReport.json(theory).data)
        try theoryFolder.write("density.csv", TheoryReport.densityCSV(theory, points: 400))
        try theoryFolder.commit()
        try PhaseRunner.run(phase, folder: root.appendingPathComponent("phase").path)
        var rows = try table(defaults: defaults, unequal: unequal, spread: spreadValue, sweepCSV: root.appendingPathComponent("sweep/sweep.csv"))
        // The theory of each seed's own sample (its sampled class means; the bulk needs none), against
        // that seed's simulation, its outliers counted by the simulation's margin.
        var edgeGap: [Double] = [], topGap: [Double] = [], agreeing = 0
        for (k, sampled) in defaults.enumerated() {
            var c = paper
            c.seed = UInt64(k)
            let t = try ModelTheory(c)
            edgeGap.append(t.bulk.edge / sampled.bulkEdge - 1)
            topGap.append((t.outlierPositions.first ?? .nan) / sampled.topEigenvalue - 1)
            if t.outliers(margin: sampled.margin) == sampled.outliers { agreeing += 1 }
        }
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
        rows.append(("bulk edge, theory λ₊ vs sampled λ₁(noise), per seed", "—",
                     String(format: "λ₊ %+.1f%% (mean over seeds; a finite-size gap, 0.2%% at D = 10⁶ in ModelTheoryTests)", 100 * mean(edgeGap))))
        rows.append(("top outlier, theory (the seed's own class means) vs sampled, per seed", "—",
                     String(format: "%+.2f%% mean, %.2f%% largest; outlier count equal in %d of %d seeds", 100 * mean(topGap),
                            100 * topGap.map(abs).max()!, agreeing, defaults.count)))
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        try folder.write("reproduce.json", JSON.array(rows.map { r in
            .object([("statistic", .string(r.0)), ("paper", .string(r.1)), ("this_run", .string(r.2))]) }).data)
        try folder.write("reproduce.md", markdown(rows).data(using: .utf8)!)
        try folder.commit()
        print(markdown(rows))
        print("wrote \(root.path)/{defaults,spread,class-conditional,sweep,theory,phase,simplex.csv,reproduce.json,reproduce.md}")
    }

    /// Simulates `config` for each seed into `dir/seed-K`, skipping seeds already written.
    func runSeeds(_ config: ModelConfiguration, count: Int, into dir: URL, label: String) throws -> [ModelSummary] {
        let progress = Progress(total: count, alreadyDone: 0, label: label)
        var out: [ModelSummary] = []
        for k in 0..<count {
            var c = config
            c.seed = UInt64(k)
            let path = dir.appendingPathComponent("seed-\(k)")
            if let old = ModelSummary(file: path.appendingPathComponent("summary.json")), old.matches(c) {
                out.append(old)
            } else {
                let folder = try OutputFolder(path.path)
                defer { folder.abandon() }
                let m = try ModelSimulation.run(c)
                for (name, data) in ModelReport.files(m) { try folder.write(name, data) }
                try folder.commit()
                out.append(ModelSummary(m))
            }
            progress.step("seed \(k)")
        }
        progress.finish()
        return out
    }

    /// The class-conditional model at the paper's defaults with class offsets σ_d = 1 (eq. 10, whose
    /// Hessian is the G-term of its Gram): C outliers and a cross-class cloud, Papyan's levels, which
    /// the paper's model (σ_d = 0) cannot make. Skipped when already written with this configuration.
    func writeClassConditional(_ paper: ModelConfiguration, to dir: URL) throws {
        var c = paper
        (c.sigmaD, c.hessian) = (1.0, .full)
        if let old = ModelSummary(file: dir.appendingPathComponent("summary.json")), old.matches(c) { return }
        let folder = try OutputFolder(dir.path)
        defer { folder.abandon() }
        let m = try ModelSimulation.run(c, gramStatistics: true)
        for (name, data) in ModelReport.files(m) { try folder.write(name, data) }
        try folder.commit()
        print(String(format: "class-conditional model (σ_d = 1, eq. 10): %d outliers above the bulk edge %.4g", m.outliers.outliers, m.outliers.bulkEdge))
    }

    /// Probabilities of a 3-class model at several σ_z (Fig. 3b), one row per example.
    func writeSimplex(to root: URL) throws {
        let folder = try OutputFolder(root.path)
        defer { folder.abandon() }
        var s = "sigma_z,example,p0,p1,p2,entropy_bits\n"
        for z in [0.1, 0.3, 1, 3, 10, 30] {
            let sample = LogitSample(examples: 300, classes: 3, sigmaZ: z, accuracy: 1,
                                     logitStream: RandomStream(seed: 0, stream: 1), labelStream: RandomStream(seed: 0, stream: 2))
            for mu in 0..<300 {
                let p = Array(sample.probabilities[(3 * mu)..<(3 * mu + 3)])
                let h = ProbabilityStatistics(probabilities: p, classes: 3).meanEntropyBits
                s += "\(formatNumber(z)),\(mu),\(formatNumber(p[0])),\(formatNumber(p[1])),\(formatNumber(p[2])),\(formatNumber(h))\n"
            }
        }
        try folder.write("simplex.csv", s.data(using: .utf8)!)
        try folder.commit()
    }

    func table(defaults: [ModelSummary], unequal: [ModelSummary], spread: Double, sweepCSV: URL) throws -> [(String, String, String)] {
        func stat(_ xs: [Double], _ digits: Int = 3) -> String {
            let m = xs.reduce(0, +) / Double(xs.count)
            let sd = xs.count > 1 ? (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot() : 0
            return String(format: "%.\(digits)f ± %.\(digits)f", m, sd)
        }
        func counts(_ xs: [Int]) -> String {
            let hist = Dictionary(grouping: xs, by: { $0 }).sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value.count)" }
            return hist.joined(separator: ", ") + " (outliers × seeds)"
        }
        let c = ModelConfiguration().classes
        let sweep = try SweepTable(sweepCSV)
        let top = sweep.mean("top_eigenvalue"), ton = sweep.mean("trace_over_norm")
        let tonH = sweep.mean("trace_over_norm_hyperplane"), ent = sweep.mean("mean_entropy_bits")
        let peak = top.enumerated().max { $0.element < $1.element }!
        let z = sweep.sigmaZ
        return [
            ("mean max probability at σ_z = 15", "0.94", stat(defaults.map(\.meanMaxProb))),
            ("q^SL (expected SNR/(SNR+1) = 0.671)", "0.67", stat(defaults.map(\.qSL))),
            ("q^DL", "≈ 0", stat(defaults.map(\.qDL))),
            ("outliers, equal class-mean lengths", "C − 1 = \(c - 1)", counts(defaults.map(\.outliers))),
            ("outliers, unequal lengths (spread \(spread))", "C = \(c)",
             counts(unequal.map(\.outliers)) + "; at most C − 1 is possible, since P^μ·1 = 0 makes the signal rank ≤ C − 1"),
            ("gradient power in top \(c) eigenvectors", "0.71", stat(defaults.map(\.gradientPower))),
            ("top eigenvalue vs σ_z (\(growth))", "rises, peaks, falls",
             String(format: "%.3g at σ_z=%.3g → peak %.3g at σ_z=%.3g → %.3g at σ_z=%.3g",
                    top.first!, z.first!, peak.element, z[peak.offset], top.last!, z.last!)),
            ("Trace(H)/‖H‖ vs σ_z", "falls",
             String(format: "%.2f → %.2f (d=10 hyperplane: %.2f → %.2f)", ton.first!, ton.last!, tonH.first!, tonH.last!)),
            ("mean entropy vs σ_z (bits)", String(format: "falls from log₂C = %.2f", log2(Double(c))),
             String(format: "%.2f → %.2f", ent.first!, ent.last!)),
        ]
    }

    func markdown(_ rows: [(String, String, String)]) -> String {
        var s = "| statistic | paper | this run (mean ± sd over seeds) |\n|---|---|---|\n"
        for r in rows { s += "| \(r.0) | \(r.1) | \(r.2) |\n" }
        return s
    }
}

/// The statistics `reproduce` tabulates, from a fresh measurement or a summary.json written earlier.
struct ModelSummary {
    var meanMaxProb, qSL, qDL, gradientPower, bulkEdge, margin, topEigenvalue: Double
    var outliers: Int
    var config: [String: Double] = [:]

    init(_ m: ModelMeasurement) {
        meanMaxProb = m.probabilities.meanMaxProbability
        qSL = m.clustering.qSL
        qDL = m.clustering.qDL
        gradientPower = m.gradientPowerTopK
        outliers = m.outliers.outliers
        bulkEdge = m.outliers.bulkEdge
        margin = m.outliers.margin
        topEigenvalue = m.eigenvalues.first ?? .nan
    }

    init?(file: URL) {
        guard let data = try? Data(contentsOf: file),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let a = o["mean_max_prob"] as? Double, let b = o["q_sl"] as? Double, let c = o["q_dl"] as? Double,
              let d = o["gradient_power_top_k"] as? Double, let e = o["outliers"] as? Int,
              let f = o["bulk_edge"] as? Double, let g = (o["eigenvalues_top"] as? [Double])?.first,
              let h = o["outlier_margin"] as? Double else { return nil }
        (meanMaxProb, qSL, qDL, gradientPower, outliers, bulkEdge, topEigenvalue, margin) = (a, b, c, d, e, f, g, h)
        for key in ["examples", "classes", "dimension", "sigma_z", "sigma_c", "sigma_d", "sigma_s", "sigma_e", "accuracy", "length_spread"] {
            config[key] = (o[key] as? NSNumber)?.doubleValue
        }
        config["seed"] = (o["seed"] as? String).flatMap(Double.init) ?? (o["seed"] as? NSNumber)?.doubleValue
        config["full"] = (o["hessian"] as? String) == "full" ? 1 : 0
    }

    /// Whether the stored summary was made with configuration `c` (so it can be reused on resume).
    func matches(_ c: ModelConfiguration) -> Bool {
        config["examples"] == Double(c.examples) && config["classes"] == Double(c.classes)
            && config["dimension"] == Double(c.dimension) && config["sigma_z"] == c.sigmaZ
            && config["sigma_c"] == c.sigmaC && config["sigma_e"] == c.sigmaE && config["accuracy"] == c.accuracy
            && config["length_spread"] == c.lengthSpread && config["seed"] == Double(c.seed)
            && config["sigma_d"] == c.sigmaD && config["sigma_s"] == c.sigmaS && config["full"] == (c.hessian == .full ? 1 : 0)
    }
}

/// sweep.csv read back, averaged over seeds per σ_z point.
struct SweepTable {
    let header: [String]
    let rows: [[String]]

    init(_ url: URL) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        header = lines.removeFirst()
        rows = lines
    }

    private var points: [Int] { Array(Set(rows.map { Int($0[0])! })).sorted() }

    var sigmaZ: [Double] { points.map { p in Double(rows.first { Int($0[0]) == p }![1])! } }

    func mean(_ column: String) -> [Double] {
        let i = header.firstIndex(of: column)!
        return points.map { p in
            let xs = rows.filter { Int($0[0]) == p }.compactMap { Double($0[i]) }
            return xs.reduce(0, +) / Double(xs.count)
        }
    }
}
