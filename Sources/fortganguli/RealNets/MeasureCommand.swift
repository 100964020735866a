import ArgumentParser
import Foundation
import Reports
import Landscape
import Linalg
import RealNets

/// Options of a measurement on a fixed balanced subset, shared by `measure`, `trajectory` and `scale-sweep`.
struct MeasurementOptions: ParsableArguments {
    @Option(name: .customLong("per-class"), help: "The first n examples of each class (file order) form the measured subset.")
    var perClass = Count(30)
    @Option(name: .customLong("top-k"), help: "Number of top Hessian eigenpairs (Lanczos) and k of the gradient power.") var topK = Count(10)
    @Option(name: .customLong("trace-probes"), help: "Hutchinson probes for Trace(H).") var traceProbes = Count(20)
    @Option(name: .customLong("density-probes"), help: "Stochastic Lanczos quadrature probes for the Hessian density (0: none).")
    var densityProbes = Count(4)
    @Option(help: "Seed of the random probes and hyperplane.") var seed: UInt64 = 0
    @Flag(name: .customLong("skip-hessian"), help: "Only the NTK-Gram statistics (q, G-term spectrum, decomposition): no Hessian-vector products.")
    var skipHessian = false
    @Flag(name: .customLong("explicit-jacobian"), help: "Form the NTK Gram from explicit per-example Jacobian rows (reference path, memory D·N·C).")
    var explicitJacobian = false

    var settings: MeasurementSettings {
        var s = MeasurementSettings()
        s.explicitJacobian = explicitJacobian
        s.hessian = !skipHessian
        (s.topK, s.traceProbes, s.densityProbes, s.seed) = (topK.value, traceProbes.value, densityProbes.value, seed)
        return s
    }

    func subset(_ d: Dataset) throws -> (Matrix, [Int]) {
        guard perClass.value >= 1 else { throw ToolError("--per-class is \(perClass.value); give at least 1") }
        let b = try d.balanced(perClass: perClass.value)
        return b.batch(Array(0..<b.labels.count))
    }
}

/// `fortganguli measure`: every statistic of one checkpoint on a balanced subset.
struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Measure a checkpoint: q statistics and G-term spectrum from the exact NTK Gram, Hessian by exact Hessian-vector products.")

    @Option(help: "A safetensors checkpoint (from train, or PyTorch-named tensors with fortganguli metadata).") var checkpoint: String
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(help: "Output folder.") var output = "results/measure"

    func run() throws {
        let data = try dataOptions.load()
        let (network, _) = try Checkpoint.read(URL(fileURLWithPath: checkpoint))
        try NetworkReport.check(network, against: data)
        let (x, y) = try measurement.subset(data)
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let m = try NetworkMeasurement(network: network, inputs: x, labels: y, settings: measurement.settings)
        try NetworkReport.write(m, to: folder)
        try folder.commit()
        print(NetworkReport.line(m))
        let files = ["summary.json", "ggn_spectrum.npy", "overlap_ggn.csv", "probabilities.csv"] + (m.density == nil ? [] : ["hessian_density.csv"])
        print("wrote \(folder.url.path)/{\(files.joined(separator: ","))}")
    }
}

/// The checkpoints of a training run folder, in step order.
struct RunFolder {
    let url: URL
    let steps: [Int]

    init(_ path: String) throws {
        url = URL(fileURLWithPath: path)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
        guard !files.isEmpty else { throw ToolError("\(path) holds no step-NNNNNN.safetensors checkpoints; run fortganguli train --output \(path) first") }
        steps = files.compactMap { Int($0.dropFirst(5).dropLast(12)) }
    }

    /// The network saved at `step`, checked against the data it will be measured on.
    func network(step: Int, data: Dataset) throws -> Network {
        let (net, _) = try Checkpoint.read(url.appendingPathComponent(String(format: "step-%06d.safetensors", step)))
        try NetworkReport.check(net, against: data)
        return net
    }
}

/// How a network measurement is written and summarised.
enum NetworkReport {
    static func check(_ net: Network, against data: Dataset) throws {
        let a = net.architecture
        guard a.inputs == data.inputs.rows, a.classes == data.classes else {
            throw ToolError("the checkpoint's network takes \(a.inputs) inputs and \(a.classes) classes but the data has \(data.inputs.rows) and \(data.classes); use the data set (and --class-subset) it was trained on")
        }
    }

    static func summary(_ m: NetworkMeasurement) -> JSON {
        .object([
            ("parameters", .integer(m.parameters)), ("examples", .integer(m.examples)), ("classes", .integer(m.classes)),
            ("loss", .number(m.loss)), ("accuracy", .number(m.accuracy)),
            ("q_slsc", .number(m.clustering.qSLSC)), ("q_sl", .number(m.clustering.qSL)), ("q_dl", .number(m.clustering.qDL)),
            ("logit_std", .number(m.logitStd)), ("mean_logit_grad_norm", .number(m.meanLogitGradientNorm)),
            ("weight_norm", .number(m.weightNorm)), ("sigma_c_est", .number(m.sigmaCEstimate)), ("sigma_e_est", .number(m.sigmaEEstimate)),
            ("class_mean_lengths", .numbers(m.classMeanLengths)),
            ("ggn_eigenvalues_top", .numbers(Array(m.gaussNewton.eigenvalues.prefix(2 * m.classes)))),
            ("ggn_bulk_edge", .number(m.gaussNewtonOutliers.bulkEdge)), ("ggn_outliers", .integer(m.gaussNewtonOutliers.outliers)),
            ("hessian_eigenvalues_top", .numbers(m.hessianTop)), ("hterm_eigenvalues_top", .numbers(m.hTermTop)),
            ("gradient_power_top_k", .number(m.gradientPowerTopK)), ("gradient_power_top_k_ggn", .number(m.gradientPowerTopKGaussNewton)),
            ("trace", .number(m.trace)), ("trace_standard_error", .number(m.traceStandardError)),
            ("trace_over_norm", .number(m.traceOverNorm)), ("trace_over_norm_hyperplane", .number(m.hyperplaneTraceOverNorm)),
            ("hessian_vector_products", .integer(m.hessianVectorProducts)), ("gram_seconds", .number(m.gramSeconds)),
            ("seconds", .number(m.seconds)),
        ])
    }

    static func write(_ m: NetworkMeasurement, to folder: OutputFolder) throws {
        try folder.write("summary.json", summary(m).data)
        try folder.write("ggn_spectrum.npy", NPY.encode(m.gaussNewton.eigenvalues))
        var probs = "example,label," + (0..<m.classes).map { "p\($0)" }.joined(separator: ",") + "\n"
        for e in 0..<m.examples {
            probs += "\(e),\(m.labels[e])," + (0..<m.classes).map { formatNumber(m.probabilities[e * m.classes + $0]) }.joined(separator: ",") + "\n"
        }
        try folder.write("probabilities.csv", probs.data(using: .utf8)!)
        var s = "index,eigenvalue,cos2,cumulative_power\n"
        var cumulative = 0.0
        for (i, (l, c2)) in zip(m.gaussNewton.eigenvalues, m.gaussNewton.gradientCosineSquared).enumerated() {
            cumulative += c2
            s += "\(i + 1),\(formatNumber(l)),\(formatNumber(c2)),\(formatNumber(cumulative))\n"
        }
        try folder.write("overlap_ggn.csv", s.data(using: .utf8)!)
        if let q = m.density {
            let top = (m.hessianTop.first ?? 1) * 1.1
            let low = min(q.nodes.min() ?? 0, 0) * 1.1
            let grid = (0..<400).map { low + (top - low) * Double($0) / 399 }
            let rho = q.density(on: grid, bandwidth: (top - low) / 200)
            try folder.write("hessian_density.csv", zip(grid, rho).reduce("lambda,density\n") { $0 + "\(formatNumber($1.0)),\(formatNumber($1.1))\n" }.data(using: .utf8)!)
        }
    }

    static func line(_ m: NetworkMeasurement) -> String {
        String(format: "loss %.4f, accuracy %.3f; q^SLSC %.3f, q^SL %.3f, q^DL %.3f; λ₁(H) %.4g, λ₁(G) %.4g; top-%d gradient power %.3f (G: %.3f); Trace/‖H‖ %.3g (%.1f s, %d Hv)",
               m.loss, m.accuracy, m.clustering.qSLSC, m.clustering.qSL, m.clustering.qDL, m.hessianTop.first ?? .nan,
               m.gaussNewton.eigenvalues.first ?? .nan, m.hessianTop.count, m.gradientPowerTopK, m.gradientPowerTopKGaussNewton,
               m.traceOverNorm, m.seconds, m.hessianVectorProducts)
    }

    /// The columns `trajectory` and `scale-sweep` stream.
    static let rowHeader = ["loss", "accuracy", "q_slsc", "q_sl", "q_dl", "logit_std", "mean_logit_grad_norm", "weight_norm",
                            "sigma_c_est", "sigma_e_est", "hessian_top", "ggn_top", "gradient_power_top_k", "gradient_power_top_k_ggn",
                            "trace", "trace_over_norm", "trace_over_norm_hyperplane"]

    static func row(_ m: NetworkMeasurement) -> [String] {
        [m.loss, m.accuracy, m.clustering.qSLSC, m.clustering.qSL, m.clustering.qDL, m.logitStd, m.meanLogitGradientNorm, m.weightNorm,
         m.sigmaCEstimate, m.sigmaEEstimate, m.hessianTop.first ?? .nan, m.gaussNewton.eigenvalues.first ?? .nan, m.gradientPowerTopK,
         m.gradientPowerTopKGaussNewton, m.trace, m.traceOverNorm, m.hyperplaneTraceOverNorm].map(formatNumber)
    }
}

/// `fortganguli trajectory`: measure every checkpoint of a run into one CSV (Fig. 4, the real Fig. 7).
struct TrajectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trajectory",
        abstract: "Measure every checkpoint of a training run into trajectory.csv; reruns resume.")

    @Option(name: .customLong("run"), help: "Run folder written by train.") var runFolder: String
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(help: "Output folder (default: the run folder).") var output: String?

    func run() throws {
        let run = try RunFolder(runFolder)
        let data = try dataOptions.load()
        let (x, y) = try measurement.subset(data)
        let manifest = JSON.object([("run", .string(URL(fileURLWithPath: runFolder).standardizedFileURL.path)), ("data", .string(dataOptions.data)),
                                    ("per_class", .integer(measurement.perClass.value)), ("top_k", .integer(measurement.topK.value)),
                                    ("seed", .integer(Int(measurement.seed)))])
        let table = try ResumableTable(folder: output ?? runFolder, name: "trajectory.csv", header: ["step"] + NetworkReport.rowHeader,
                                       keyColumns: 1, manifest: manifest)
        let steps = run.steps
        let pending = steps.filter { !table.isDone([String($0)]) }
        let progress = Progress(total: steps.count, alreadyDone: steps.count - pending.count, label: "trajectory")
        for step in pending {
            let net = try run.network(step: step, data: data)
            var s = measurement.settings
            s.densityProbes = 0
            let m = try NetworkMeasurement(network: net, inputs: x, labels: y, settings: s)
            try table.append([String(step)] + NetworkReport.row(m))
            progress.step("step \(step): λ₁ \(String(format: "%.4g", m.hessianTop.first ?? .nan))")
        }
        progress.finish()
        print("trajectory: \(steps.count) rows in \(table.url.path)")
    }
}

/// `fortganguli scale-sweep`: Trace/‖H‖ and logit std as the initial weights are scaled by α (the real Fig. 8).
struct ScaleSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale-sweep",
        abstract: "Scale the initial weights by α on a log grid and record Trace/‖H‖ and the logit std into scale.csv; reruns resume.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var archOptions: ArchitectureOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(name: .customLong("alpha-min"), parsing: .unconditional, help: "Smallest weight scale α.") var alphaMin = 0.1
    @Option(name: .customLong("alpha-max"), parsing: .unconditional, help: "Largest weight scale α.") var alphaMax = 10.0
    @Option(help: "Number of log-spaced α.") var points = Count(9)
    @Option(name: .customLong("init-seed"), help: "Seed of the initial weights.") var initSeed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/scale-sweep"

    func run() throws {
        guard alphaMin.isFinite, alphaMax.isFinite, alphaMin > 0, alphaMax >= alphaMin, points.value >= 1 else {
            throw ToolError("the α grid is empty: need 0 < --alpha-min ≤ --alpha-max and --points ≥ 1")
        }
        let data = try dataOptions.load()
        let arch = try archOptions.architecture(for: data)
        let (x, y) = try measurement.subset(data)
        let n = points.value
        let grid = (0..<n).map { n == 1 ? alphaMin : alphaMin * pow(alphaMax / alphaMin, Double($0) / Double(n - 1)) }
        let manifest = JSON.object(arch.spec.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) } + [
            ("data", .string(dataOptions.data)), ("per_class", .integer(measurement.perClass.value)), ("alpha_min", .number(alphaMin)),
            ("alpha_max", .number(alphaMax)), ("points", .integer(n)), ("init_seed", .integer(Int(initSeed)))])
        let table = try ResumableTable(folder: output, name: "scale.csv", header: ["point", "alpha"] + NetworkReport.rowHeader,
                                       keyColumns: 1, manifest: manifest)
        let pending = (0..<n).filter { !table.isDone([String($0)]) }
        let progress = Progress(total: n, alreadyDone: n - pending.count, label: "scale-sweep")
        for i in pending {
            let net = Network(architecture: arch, seed: initSeed, scale: grid[i])
            var s = measurement.settings
            s.densityProbes = 0
            let m = try NetworkMeasurement(network: net, inputs: x, labels: y, settings: s)
            try table.append([String(i), formatNumber(grid[i])] + NetworkReport.row(m))
            progress.step(String(format: "α = %.3g: logit std %.3g, Trace/‖H‖ %.3g", grid[i], m.logitStd, m.traceOverNorm))
        }
        progress.finish()
        print("scale-sweep: \(n) rows in \(table.url.path)")
    }
}
