import ArgumentParser
import Foundation
import Linalg
import Reports
import RealNets

/// `fortganguli scale-sweep`: Trace/‖H‖ and logit std as the initial weights are scaled by α (the real Fig. 8).
struct ScaleSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale-sweep",
        abstract: "Scale the initial weights by α on a log grid and record Trace/‖H‖ and the logit std into scale.csv; reruns resume.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var archOptions: ArchitectureOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(name: .customLong("alpha-min"), parsing: .unconditional, help: "Smallest weight scale α (in [1e-6, 1e6]).") var alphaMin = 0.1
    @Option(name: .customLong("alpha-max"), parsing: .unconditional, help: "Largest weight scale α (in [--alpha-min, 1e6]).") var alphaMax = 10.0
    @Option(parsing: .unconditional, help: "Number of log-spaced α (1 to 10000).") var points = Count(9)
    @Option(name: .customLong("init-seed"), help: "Seed of the initial weights.") var initSeed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/scale-sweep"
    @OptionGroup var sharding: ShardOptions

    func validate() throws {
        for (flag, value) in [("--alpha-min", alphaMin), ("--alpha-max", alphaMax)] where !(value.isFinite && value >= 1e-6 && value <= 1e6) {
            throw ToolError("\(flag) is \(value); give a weight scale in [1e-6, 1e6]")
        }
        guard alphaMax >= alphaMin else { throw ToolError("--alpha-max (\(alphaMax)) is below --alpha-min (\(alphaMin)); the grid would be empty") }
        guard points.value >= 1 && points.value <= 10_000 else { throw ToolError("--points is \(points.value); give 1 to 10000") }
    }

    func run() throws {
        let shard = try sharding.resolve()
        let data = try dataOptions.load()
        let arch = try archOptions.architecture(for: data)
        let (x, y) = try measurement.subset(data)
        var s = measurement.settings
        (s.densityProbes, s.hTermTopK) = (0, 0)   // neither is in the row
        try s.validate(parameters: arch.parameterCount, examples: y.count, classes: data.classes)
        try Memory.require(s.memoryParts(architecture: arch, examples: y.count, classes: data.classes)
                           + [("the network", 8 * 2 * Double(arch.parameterCount))], for: "the scale sweep",
                           remedy: "lower --widths (or --channels and --hidden), --per-class, --top-k, --bottom-k or --hyperplane-dimension")
        let n = points.value
        let grid = logSpaced(from: alphaMin, to: alphaMax, count: n)
        let manifest = JSON.object(ArchitectureOptions.manifest(arch) + dataOptions.manifest + measurement.manifest() + [
            ("alpha_min", .number(alphaMin)), ("alpha_max", .number(alphaMax)), ("points", .integer(n)), ("init_seed", .unsigned(initSeed))])
        let table = try ResumableTable(folder: shard?.folder(output) ?? output, name: "scale.csv", header: ["point", "alpha"] + NetworkReport.rowHeader,
                                       keyColumns: 1, manifest: manifest)
        try table.fill(Array(0..<n), shard: shard, label: "scale-sweep", key: { [String($0)] }) { i in
            let net = Network(architecture: arch, seed: initSeed, scale: grid[i])
            let m = try NetworkMeasurement(network: net, inputs: x, labels: y, settings: s)
            return ([String(i), formatNumber(grid[i])] + NetworkReport.row(m, topK: s.topK),
                    String(format: "α = %.3g: logit std %.3g, Trace/‖H‖ %.3g", grid[i], m.gram.logitScale, m.hessian?.traceOverNorm ?? .nan))
        }
        print("scale-sweep: \(Shard.rows(shard, of: n)) rows in \(table.url.path)")
    }
}
