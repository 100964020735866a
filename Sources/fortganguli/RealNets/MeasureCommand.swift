import ArgumentParser
import Foundation
import Reports
import Landscape
import Linalg
import RealNets

/// Options of a measurement on a fixed balanced subset, shared by `measure`, `trajectory`, `scale-sweep` and `compare`.
/// Every numeric option parses negative numbers as values (`parsing: .unconditional`) so that a bad
/// value is refused by `validate()` with its range, not by the parser with a usage message.
struct MeasurementOptions: ParsableArguments {
    @Option(name: .customLong("per-class"), parsing: .unconditional,
            help: "The first n examples of each class (file order) form the measured subset (at least 2).")
    var perClass = Count(30)
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Number of top Hessian eigenpairs (Lanczos) and k of the gradient power.")
    var topK = Count(10)
    @Option(name: .customLong("bottom-k"), parsing: .unconditional,
            help: "Number of bottom (most negative) Hessian eigenvalues (Lanczos); ‖H‖ = max(λ_max, −λ_min).")
    var bottomK = Count(1)
    @Option(name: .customLong("trace-probes"), parsing: .unconditional,
            help: "Hutchinson probes for Tr(H − G), used only where the trace is not exact (a conv net with tanh); elsewhere Tr(H) is exact.")
    var traceProbes = Count(20)
    @Option(name: .customLong("hyperplanes"), parsing: .unconditional,
            help: "Independent random hyperplanes R for the restricted Trace/‖·‖ (mean ± standard error).")
    var hyperplanes = Count(8)
    @Option(name: .customLong("hyperplane-dimension"), parsing: .unconditional, help: "Dimension d of each random hyperplane.")
    var hyperplaneDimension = Count(10)
    @Option(name: .customLong("density-probes"), parsing: .unconditional, help: "Stochastic Lanczos quadrature probes for the Hessian density (0: none).")
    var densityProbes = Count(4)
    @Option(help: "Seed of the random probes and hyperplanes.") var seed: UInt64 = 0
    @Flag(name: .customLong("skip-hessian"), help: "Only the Gram statistics (q, G-term and its class structure): no Hessian-vector products.")
    var skipHessian = false
    @Flag(name: .customLong("explicit-jacobian"), help: "Form the NTK Gram from explicit per-example Jacobian rows (reference path, memory D·N·C).")
    var explicitJacobian = false

    /// (flag, value, least, most) of every count; the upper bounds that depend on the source
    /// (N·C, D) are checked by `check(parameters:examples:classes:architecture:)`.
    var ranges: [(String, Int, Int, Int)] {
        [("--per-class", perClass.value, 2, 100_000), ("--top-k", topK.value, 1, 100_000), ("--bottom-k", bottomK.value, 1, 100_000),
         ("--trace-probes", traceProbes.value, 2, 100_000), ("--hyperplanes", hyperplanes.value, 1, 10_000),
         ("--hyperplane-dimension", hyperplaneDimension.value, 1, 100_000), ("--density-probes", densityProbes.value, 0, 10_000)]
    }

    func validate() throws {
        for (flag, value, least, most) in ranges where value < least || value > most {
            throw ToolError("\(flag) is \(value); give \(least) to \(most)")
        }
    }

    /// The checks that need the source's sizes (N examples, C classes, D parameters when known) and,
    /// with a network, the memory estimate: run before any output folder or table is created.
    func check(parameters d: Int?, examples n: Int, classes c: Int, architecture: Architecture?) throws {
        try settings.validate(parameters: d, examples: n, classes: c)
        try settings.checkMemory(architecture: architecture, examples: n, classes: c)
    }

    /// `check` for a network measured on the balanced subset of `data`.
    func check(_ network: Network, on data: Dataset) throws {
        try check(parameters: network.parameters.count, examples: perClass.value * data.classes, classes: data.classes,
                  architecture: network.architecture)
    }

    /// Manifest entries: every option that changes a measured row. `densityRows`: whether the rows
    /// hold the density (trajectory, scale-sweep and compare zero it, so it is left out there).
    func manifest(densityRows: Bool = false) -> [(String, JSON)] {
        var m: [(String, JSON)] = [
            ("per_class", .integer(perClass.value)), ("top_k", .integer(topK.value)), ("bottom_k", .integer(bottomK.value)),
            ("trace_probes", .integer(traceProbes.value)), ("hyperplanes", .integer(hyperplanes.value)),
            ("hyperplane_dimension", .integer(hyperplaneDimension.value))]
        if densityRows { m.append(("density_probes", .integer(densityProbes.value))) }
        m += [("seed", .unsigned(seed)), ("skip_hessian", .bool(skipHessian)), ("explicit_jacobian", .bool(explicitJacobian))]
        return m
    }

    var settings: MeasurementSettings {
        var s = MeasurementSettings()
        s.explicitJacobian = explicitJacobian
        s.hessian = !skipHessian
        (s.topK, s.bottomK, s.traceProbes, s.densityProbes, s.seed) = (topK.value, bottomK.value, traceProbes.value, densityProbes.value, seed)
        (s.hyperplanes, s.hyperplaneDimension) = (hyperplanes.value, hyperplaneDimension.value)
        return s
    }

    func subset(_ d: Dataset) throws -> (Matrix, [Int]) {
        let b: Dataset
        do { b = try d.balanced(perClass: perClass.value) } catch let error as DataError {
            throw ToolError("--per-class \(perClass.value): \(error)")
        }
        return b.batch(Array(0..<b.labels.count))
    }
}

/// Where a measurement's logit gradients come from: a checkpoint (with data) or a `--gram` folder.
struct SourceOptions: ParsableArguments {
    @Option(help: "A safetensors checkpoint (from train, or PyTorch-named tensors with fortganguli metadata).") var checkpoint: String?
    @Option(help: "Instead of a checkpoint, a folder with gram.npy (N·C×N·C, index μ·C + k), logits.npy (N×C), labels.npy (N) and optionally meta.json ({\"parameters\": D, \"name\": …}); Hessian rows then say \"needs a checkpoint\".")
    var gram: String?

    func validate() throws {
        guard (checkpoint == nil) != (gram == nil) else { throw ToolError("give either --checkpoint FILE or --gram DIR") }
    }
}

/// `fortganguli measure`: every statistic of one checkpoint on a balanced subset, or of a --gram source.
struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Measure a checkpoint or a --gram source: q statistics, G-term spectrum and Papyan's class structure from the Gram; the Hessian by exact Hessian-vector products.")

    @OptionGroup var source: SourceOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var measurement: MeasurementOptions
    @Flag(name: .customLong("write-gram"), help: "Also write the source as gram.npy, logits.npy, labels.npy and meta.json (the --gram format).")
    var writeGram = false
    @Option(help: "Output folder.") var output = "results/measure"

    func run() throws {
        let m: NetworkMeasurement, name: String?
        if let gram = source.gram {
            let read = try GramFolder.read(URL(fileURLWithPath: gram))
            try measurement.check(parameters: nil, examples: read.source.examples, classes: read.source.classes, architecture: nil)
            (m, name) = (try NetworkMeasurement(source: read.source), read.name)
            let folder = try OutputFolder(output)
            defer { folder.abandon() }
            try write(m, name: name, to: folder)
        } else {
            let data = try dataOptions.load(firstPerClass: measurement.perClass.value)
            let (network, _) = try Checkpoint.read(URL(fileURLWithPath: source.checkpoint!))
            try network.check(against: data)
            let (x, y) = try measurement.subset(data)
            try measurement.check(network, on: data)
            let folder = try OutputFolder(output)
            defer { folder.abandon() }
            (m, name) = (try NetworkMeasurement(network: network, inputs: x, labels: y, settings: measurement.settings), nil)
            try write(m, name: name, to: folder)
        }
        print(NetworkReport.line(m, topK: measurement.topK.value))
    }

    func write(_ m: NetworkMeasurement, name: String?, to folder: OutputFolder) throws {
        var files = NetworkReport.files(m, topK: measurement.topK.value, name: name)
        if writeGram { files += GramFolder.files(m.gram.source, name: name ?? URL(fileURLWithPath: source.checkpoint ?? "source").lastPathComponent) }
        for (file, data) in files { try folder.write(file, data) }
        try folder.commit()
        print("wrote \(folder.url.path)/{\(files.map(\.0).joined(separator: ","))}")
    }
}
