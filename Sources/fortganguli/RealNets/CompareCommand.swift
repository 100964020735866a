import ArgumentParser
import FortGanguli
import Foundation
import Reports
import Landscape
import Linalg
import RealNets

/// `fortganguli compare`: does the random model explain this network? Calibrates the model on the
/// network and sets the same statistics side by side.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Calibrate the Fort–Ganguli model on a checkpoint (σ_z, σ_c, σ_E, class-mean lengths, N, C, D) and compare G-term spectra, outliers, gradient power, q statistics and Trace/‖H‖.")

    @Option(help: "A safetensors checkpoint written by train.") var checkpoint: String?
    @Option(name: .customLong("run"), help: "Instead of one checkpoint, every checkpoint of a training run (writes compare-trajectory.csv).")
    var runFolder: String?
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(name: .customLong("model-seed"), help: "Seed of the model's random gradients.") var modelSeed: UInt64 = 0
    @Option(name: .customLong("agree-within"), parsing: .unconditional, help: "Relative gap below which a statistic counts as agreeing.")
    var agreeWithin = 0.2
    @Option(help: "Output folder (compare.json, compare.md and the three G-term spectra).") var output = "results/compare"

    /// The network measured, the model calibrated on it, and the model and semi-empirical model measured.
    struct Comparison {
        var network: NetworkMeasurement
        var config: ModelConfiguration
        var model: ModelMeasurement
        var semi: ModelMeasurement
        var logits: Matrix
    }

    func compare(_ network: Network, _ x: Matrix, _ y: [Int], _ settings: MeasurementSettings) throws -> Comparison {
        let net = try NetworkMeasurement(network: network, inputs: x, labels: y, settings: settings)
        let z = network.logits(x)
        let (c, n) = (network.architecture.classes, y.count)
        // Calibration: σ_z from the logits, σ_c, σ_E and relative lengths from eq. 14–15, N, C, D as the network.
        var variance = 0.0
        for e in 0..<n {
            let col = (0..<c).map { z[$0, e] }
            let mean = col.reduce(0, +) / Double(c)
            variance += col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c - 1) / Double(n)
        }
        var config = ModelConfiguration()
        (config.examples, config.classes, config.dimension) = (n, c, network.parameters.count)
        (config.sigmaZ, config.sigmaC, config.sigmaE) = (variance.squareRoot(), net.sigmaCEstimate, net.sigmaEEstimate)
        config.classLengths = net.classMeanLengths.map { net.sigmaCEstimate > 0 ? $0 / net.sigmaCEstimate : 1 }
        config.accuracy = net.accuracy
        (config.hessian, config.mode, config.seed, config.topK) = (.full, .auto, modelSeed, settings.topK)
        try config.validate()
        try ModelSimulation.checkResources(config)
        let model = try ModelSimulation.run(config)
        // Semi-empirical: the network's own p and y, random gradients.
        var zRows = [Double](repeating: 0, count: n * c)
        for e in 0..<n { for k in 0..<c { zRows[e * c + k] = z[k, e] } }
        let semi = try ModelSimulation.run(config, logits: LogitSample(logits: zRows, labels: y, classes: c))
        return Comparison(network: net, config: config, model: model, semi: semi, logits: z)
    }

    func run() throws {
        guard (checkpoint == nil) != (runFolder == nil) else { throw ToolError("give either --checkpoint FILE or --run RUN") }
        let data = try dataOptions.load()
        let (x, y) = try measurement.subset(data)
        var settings = measurement.settings
        settings.densityProbes = 0
        if let runFolder { return try compareRun(runFolder, data, x, y, settings) }
        let (network, _) = try Checkpoint.read(URL(fileURLWithPath: checkpoint!))
        try NetworkReport.check(network, against: data)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let cmp = try compare(network, x, y, settings)
        let (net, config, model, semi, z) = (cmp.network, cmp.config, cmp.model, cmp.semi, cmp.logits)
        let (c, n) = (config.classes, config.examples)
        let ggnTON = TraceOverNorm(eigenvalues: net.gaussNewton.eigenvalues)
        typealias Row = (String, Double, Double, Double)
        let k = settings.topK
        let rows: [Row] = [
            ("G-term λ₁", net.gaussNewton.eigenvalues.first ?? .nan, model.eigenvalues.first ?? .nan, semi.eigenvalues.first ?? .nan),
            ("G-term bulk edge", net.gaussNewtonOutliers.bulkEdge, model.outliers.bulkEdge, semi.outliers.bulkEdge),
            ("outliers", Double(net.gaussNewtonOutliers.outliers), Double(model.outliers.outliers), Double(semi.outliers.outliers)),
            ("gradient power, top \(k) of G", net.gradientPowerTopKGaussNewton, model.gradientPowerTopK, semi.gradientPowerTopK),
            ("q^SLSC", net.clustering.qSLSC, model.clustering.qSLSC, semi.clustering.qSLSC),
            ("q^SL", net.clustering.qSL, model.clustering.qSL, semi.clustering.qSL),
            ("q^DL", net.clustering.qDL, model.clustering.qDL, semi.clustering.qDL),
            ("Trace(G)/‖G‖", ggnTON.ratio, model.traceOverNorm.ratio, semi.traceOverNorm.ratio),
            ("mean max probability", meanMax(z), model.probabilities.meanMaxProbability, semi.probabilities.meanMaxProbability),
        ]
        func gap(_ a: Double, _ b: Double) -> Double { abs(b - a) / max(abs(a), abs(b), 1e-300) }
        func verdict(_ g: Double, _ name: String) -> String {
            if name == "q^DL" { return "(≈ 0 both)" }
            return g <= agreeWithin ? "agree" : "differ"
        }
        var md = String(format: "Calibration: σ_z = %.4g, σ_c = %.4g, σ_E = %.4g (units of 1/√D), N = %d, C = %d, D = %d, accuracy %.3f\n\n",
                        config.sigmaZ, config.sigmaC, config.sigmaE, n, c, config.dimension, config.accuracy)
        md += "| statistic | network | model | semi-empirical | gap model | gap semi | verdict (model, semi) |\n|---|---|---|---|---|---|---|\n"
        var json: [JSON] = []
        for (name, a, b, s) in rows {
            let (gm, gs) = (gap(a, b), gap(a, s))
            md += String(format: "| %@ | %.4g | %.4g | %.4g | %.0f%% | %.0f%% | %@, %@ |\n", name, a, b, s, 100 * gm, 100 * gs,
                         verdict(gm, name), verdict(gs, name))
            json.append(.object([("statistic", .string(name)), ("network", .number(a)), ("model", .number(b)), ("semi_empirical", .number(s)),
                                 ("relative_gap_model", .number(gm)), ("relative_gap_semi_empirical", .number(gs))]))
        }
        md += String(format: "\nNetwork's full Hessian: λ₁ = %.4g, Trace/‖H‖ = %.3g (the model has no H-term; its Hessian is the G-term).\n",
                     net.hessianTop.first ?? .nan, net.traceOverNorm)
        let calibration = JSON.object([("sigma_z", .number(config.sigmaZ)), ("sigma_c", .number(config.sigmaC)),
                                       ("sigma_e", .number(config.sigmaE)), ("class_lengths", .numbers(config.classLengths ?? [])),
                                       ("examples", .integer(n)), ("classes", .integer(c)), ("dimension", .integer(config.dimension)),
                                       ("accuracy", .number(config.accuracy)), ("model_mode", .string(model.mode.rawValue))])
        try folder.write("compare.json", JSON.object([("calibration", calibration), ("statistics", .array(json)),
                                                      ("agree_within", .number(agreeWithin))]).data)
        try folder.write("compare.md", md.data(using: .utf8)!)
        try folder.write("network_ggn_spectrum.npy", NPY.encode(net.gaussNewton.eigenvalues))
        try folder.write("model_spectrum.npy", NPY.encode(model.eigenvalues))
        try folder.write("semi_empirical_spectrum.npy", NPY.encode(semi.eigenvalues))
        try folder.commit()
        print(md, terminator: "")
        print("wrote \(folder.url.path)/{compare.json,compare.md,network_ggn_spectrum.npy,model_spectrum.npy,semi_empirical_spectrum.npy}")
    }

    /// Every checkpoint of a run: the network's and the calibrated model's top G-term eigenvalue and
    /// Trace/‖·‖ along training, against the model's σ_z path (the real and model Fig. 7/8).
    func compareRun(_ run: String, _ data: Dataset, _ x: Matrix, _ y: [Int], _ settings: MeasurementSettings) throws {
        let folder = try RunFolder(run)
        let header = ["step", "sigma_z", "sigma_c", "sigma_e", "network_ggn_top", "model_top", "semi_top", "network_hessian_top",
                      "network_ggn_trace_over_norm", "model_trace_over_norm", "semi_trace_over_norm", "network_hessian_trace_over_norm",
                      "network_outliers", "model_outliers", "network_q_sl", "model_q_sl", "network_gradient_power", "model_gradient_power"]
        let manifest = JSON.object([("run", .string(URL(fileURLWithPath: run).standardizedFileURL.path)), ("data", .string(dataOptions.data)),
                                    ("per_class", .integer(measurement.perClass.value)), ("model_seed", .integer(Int(modelSeed)))])
        let table = try ResumableTable(folder: output, name: "compare-trajectory.csv", header: header, keyColumns: 1, manifest: manifest)
        let steps = folder.steps
        let pending = steps.filter { !table.isDone([String($0)]) }
        let progress = Progress(total: steps.count, alreadyDone: steps.count - pending.count, label: "compare")
        for step in pending {
            let network = try folder.network(step: step, data: data)
            let cmp = try compare(network, x, y, settings)
            let g = TraceOverNorm(eigenvalues: cmp.network.gaussNewton.eigenvalues)
            try table.append([String(step)] + [cmp.config.sigmaZ, cmp.config.sigmaC, cmp.config.sigmaE,
                cmp.network.gaussNewton.eigenvalues.first ?? .nan, cmp.model.eigenvalues.first ?? .nan, cmp.semi.eigenvalues.first ?? .nan,
                cmp.network.hessianTop.first ?? .nan, g.ratio, cmp.model.traceOverNorm.ratio, cmp.semi.traceOverNorm.ratio,
                cmp.network.traceOverNorm, Double(cmp.network.gaussNewtonOutliers.outliers), Double(cmp.model.outliers.outliers),
                cmp.network.clustering.qSL, cmp.model.clustering.qSL, cmp.network.gradientPowerTopKGaussNewton,
                cmp.model.gradientPowerTopK].map(formatNumber))
            progress.step(String(format: "step %d: σ_z %.3g, λ₁ network %.4g, model %.4g", step, cmp.config.sigmaZ,
                                 cmp.network.gaussNewton.eigenvalues.first ?? .nan, cmp.model.eigenvalues.first ?? .nan))
        }
        progress.finish()
        print("compare: \(steps.count) rows in \(table.url.path)")
    }

    func meanMax(_ z: Matrix) -> Double {
        let p = softmaxRows(z.storage, classes: z.rows)
        return ProbabilityStatistics(probabilities: p, classes: z.rows).meanMaxProbability
    }
}
