import ArgumentParser
import Comparison
import Foundation
import Reports
import Landscape
import RealNets

/// `fortganguli compare`: does the random model explain this network? The calibration, the model
/// runs and the verdicts are `Comparison.ModelComparison`; this command reads the source, calls it
/// and writes what it returns.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Set a checkpoint (or a --gram source) beside the Fort–Ganguli model, the class-conditional model and the semi-empirical model calibrated on it, every statistic judged against the models' spread over seeds.")

    @Option(help: "A safetensors checkpoint written by train.") var checkpoint: String?
    @Option(help: "Instead of a checkpoint, a --gram folder (gram.npy, logits.npy, labels.npy, meta.json); Hessian rows then say \"needs a checkpoint\".")
    var gram: String?
    @Option(name: .customLong("run"), help: "Instead of one checkpoint, every checkpoint of a training run (writes compare-trajectory.csv; resumes).")
    var runFolder: String?
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var measurement: MeasurementOptions
    @Option(name: .customLong("model-seeds"), parsing: .unconditional, help: "Seeds each model is run at (2 to 1000); verdicts need at least 2.")
    var modelSeeds = Count(5)
    @Option(name: .customLong("model-seed"), help: "First model seed.") var firstModelSeed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Parameter count D of a --gram source whose meta.json does not give it.") var parameters: Count?
    @Option(parsing: .unconditional, help: "Coverage of the models' prediction intervals that decide agree/differ.") var level = Agreement.defaultLevel
    @Option(help: "Output folder (compare.md, compare.json, spectra; with --run compare-trajectory.csv).") var output = "results/compare"

    func validate() throws {
        guard [checkpoint, gram, runFolder].compactMap({ $0 }).count == 1 else {
            throw ToolError("give exactly one of --checkpoint FILE, --gram DIR or --run RUN")
        }
        guard modelSeeds.value >= 2 && modelSeeds.value <= 1000 else {
            throw ToolError("--model-seeds is \(modelSeeds.value); give 2 to 1000 (a verdict needs the models' spread)")
        }
        guard level.isFinite && level > 0.5 && level < 1 else { throw ToolError("--level is \(level); give a coverage in (0.5, 1), e.g. 0.99") }
        if let d = parameters?.value, d < 1 || d > 1_000_000_000_000 {
            throw ToolError("--parameters is \(d); give the parameter count D, 1 to 1000000000000")
        }
    }

    /// D of the models: --parameters, else the source's own.
    func modelParameters(_ sourceParameters: Int?) throws -> Int {
        guard let d = parameters?.value ?? sourceParameters else {
            throw ToolError("the --gram source does not say its parameter count D; add {\"parameters\": D} to meta.json or pass --parameters D")
        }
        return d
    }

    /// Everything that needs the source's sizes, before any output is created: the measurement's
    /// ranges and memory, and the models' (at N, C, D; one model run at a time).
    func check(_ settings: MeasurementSettings, parameters d: Int, examples n: Int, classes c: Int, architecture: Architecture?) throws {
        try settings.validate(parameters: d, examples: n, classes: c)   // the source's and the models' top k and hyperplanes at D
        let sizes = (n: n, c: c, d: d, k: measurement.topK.value, r: measurement.hyperplanes.value, dd: measurement.hyperplaneDimension.value)
        do {
            try ModelComparison.check(examples: sizes.n, classes: sizes.c, parameters: sizes.d, topK: sizes.k, hyperplanes: sizes.r,
                                      hyperplaneDimension: sizes.dd)
        } catch let error as ComparisonError { throw ToolError(error.description) }
        let models = ModelComparison.bytesNeeded(examples: n, classes: c, parameters: d, topK: sizes.k, hyperplanes: sizes.r,
                                                 hyperplaneDimension: sizes.dd)
        try Memory.require(settings.memoryParts(architecture: architecture, examples: n, classes: c) + [("a model run", models)],
                           for: "the comparison", remedy: "lower --per-class, --top-k or --hyperplane-dimension")
    }

    func compare(_ m: NetworkMeasurement, progress: Progress?) throws -> ModelComparison {
        let d = try modelParameters(m.parameters)
        return try ModelComparison(source: m.gram, hessian: m.hessian, parameters: d, seeds: modelSeeds.value, firstSeed: firstModelSeed,
                                   topK: measurement.topK.value, hyperplanes: measurement.hyperplanes.value,
                                   hyperplaneDimension: measurement.hyperplaneDimension.value, level: level,
                                   progress: progress.map { p in { p.step($0) } })
    }

    func run() throws {
        var settings = measurement.settings
        (settings.densityProbes, settings.hTermTopK) = (0, 0)   // neither is compared
        if let runFolder { return try compareRun(runFolder, settings) }
        let m: NetworkMeasurement, name: String
        if let gram {
            let read = try GramFolder.read(URL(fileURLWithPath: gram))
            try check(settings, parameters: try modelParameters(read.source.parameters), examples: read.source.examples,
                      classes: read.source.classes, architecture: nil)
            (m, name) = (try NetworkMeasurement(source: read.source), read.name)
        } else {
            let data = try dataOptions.load(firstPerClass: measurement.perClass.value)
            let (network, _) = try Checkpoint.read(URL(fileURLWithPath: checkpoint!))
            try network.check(against: data)
            let (x, y) = try measurement.subset(data)
            try check(settings, parameters: try modelParameters(network.parameters.count), examples: y.count, classes: data.classes,
                      architecture: network.architecture)
            (m, name) = (try NetworkMeasurement(network: network, inputs: x, labels: y, settings: settings),
                         URL(fileURLWithPath: checkpoint!).deletingPathExtension().lastPathComponent)
        }
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let progress = Progress(total: 3 * modelSeeds.value, alreadyDone: 0, label: "compare")
        let comparison = try compare(m, progress: progress)
        progress.finish()
        let files = ComparisonReport.files(comparison, sourceName: name)
        for (file, data) in files { try folder.write(file, data) }
        try folder.commit()
        print(ComparisonReport.markdown(comparison, sourceName: name), terminator: "")
        print("wrote \(folder.url.path)/{compare.md,compare.json,…} (\(files.count) files)")
    }

    /// Every checkpoint of a run, one row each (the real Figs. 7 and 8 beside the models calibrated along training).
    func compareRun(_ run: String, _ settings: MeasurementSettings) throws {
        let folder = try RunFolder(run)
        let data = try dataOptions.load(firstPerClass: measurement.perClass.value)
        let (x, y) = try measurement.subset(data)
        let first = try folder.network(step: folder.steps[0], data: data)
        try check(settings, parameters: try modelParameters(first.parameters.count), examples: y.count, classes: data.classes,
                  architecture: first.architecture)
        let manifest = JSON.object([("run", .string(URL(fileURLWithPath: run).standardizedFileURL.path))] + dataOptions.manifest
                                   + measurement.manifest() + [
                                       ("model_seeds", .integer(modelSeeds.value)), ("model_seed", .unsigned(firstModelSeed)),
                                       ("level", .number(level)), ("parameters", parameters.map { .integer($0.value) } ?? .null)])
        let table = try ResumableTable(folder: output, name: "compare-trajectory.csv", header: ["step"] + ComparisonReport.rowHeader(),
                                       keyColumns: 1, manifest: manifest)
        try table.fill(folder.steps, label: "compare", key: { [String($0)] }) { step in
            let m = try NetworkMeasurement(network: try folder.network(step: step, data: data), inputs: x, labels: y, settings: settings)
            let cmp = try compare(m, progress: nil)
            let q = cmp.statistic("ggn_top")!
            return ([String(step)] + ComparisonReport.row(cmp),
                    String(format: "step %d: σ_z %.3g, G-term λ₁ network %.4g, class-conditional model %.4g", step, m.gram.logitScale,
                           q.observed, q.models.first { $0.kind == .classConditional }?.agreement.modelMean ?? .nan))
        }
        print("compare: \(folder.steps.count) rows in \(table.url.path)")
    }
}
