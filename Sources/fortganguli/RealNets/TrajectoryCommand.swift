import ArgumentParser
import Foundation
import Reports
import RealNets

/// `fortganguli trajectory`: measure every checkpoint of a run into one CSV (Fig. 4, the real Fig. 7).
struct TrajectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trajectory",
        abstract: "Measure every checkpoint of a training run into trajectory.csv; reruns resume.")

    @Option(name: .customLong("run"), help: "Run folder written by train.") var runFolder: String
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(help: "Output folder (default: the run folder).") var output: String?
    @OptionGroup var sharding: ShardOptions

    func run() throws {
        let shard = try sharding.resolve()
        let run = try RunFolder(runFolder)
        let data = try dataOptions.load(firstPerClass: measurement.perClass.value)
        let (x, y) = try measurement.subset(data)
        var s = measurement.settings
        (s.densityProbes, s.hTermTopK) = (0, 0)   // neither is in the row
        // The first checkpoint stands for the run (train writes one architecture): read, fit to the
        // data and the options checked before the table is created.
        let first = try run.network(step: run.steps[0], data: data)
        try s.validate(parameters: first.parameters.count, examples: y.count, classes: data.classes)
        try s.checkMemory(architecture: first.architecture, examples: y.count, classes: data.classes)
        let manifest = JSON.object([("run", .string(URL(fileURLWithPath: runFolder).standardizedFileURL.path))] + dataOptions.manifest
                                   + measurement.manifest())
        let table = try ResumableTable(folder: shard?.folder(output ?? runFolder) ?? output ?? runFolder, name: "trajectory.csv", header: ["step"] + NetworkReport.rowHeader,
                                       keyColumns: 1, manifest: manifest)
        try table.fill(run.steps, shard: shard, label: "trajectory", key: { [String($0)] }) { step in
            let m = try NetworkMeasurement(network: try run.network(step: step, data: data), inputs: x, labels: y, settings: s)
            return ([String(step)] + NetworkReport.row(m, topK: s.topK), "step \(step): λ₁ \(String(format: "%.4g", m.hessian?.top.first ?? .nan))")
        }
        print("trajectory: \(Shard.rows(shard, of: run.steps.count)) rows in \(table.url.path)")
    }
}
