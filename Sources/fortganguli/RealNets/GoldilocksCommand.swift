import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// `fortganguli goldilocks`: the Hessian restricted to random hyperplanes and hyperspheres as the
/// initial weight vector is rescaled to norm r (Fort & Scherlis 2018), and with `--train` the
/// accuracy of training inside random d-dimensional hyperplanes at each r (Li et al. 2018).
struct GoldilocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goldilocks",
        abstract: "Restricted-Hessian Trace/‖·‖ and positive fraction on random hyperplanes and hyperspheres versus the weight norm r (goldilocks.csv); with --train, hyperplane-training accuracy and d_int90 (goldilocks-train.csv, intrinsic.csv); reruns resume.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var archOptions: ArchitectureOptions
    @Option(name: .customLong("radius-min"), parsing: .unconditional, help: "Smallest weight norm r (in (0, 1e6]).") var radiusMin = 1.0
    @Option(name: .customLong("radius-max"), parsing: .unconditional, help: "Largest weight norm r (in [--radius-min, 1e6]).") var radiusMax = 100.0
    @Option(parsing: .unconditional, help: "Number of log-spaced radii (1 to 10000).") var points = Count(9)
    @Option(help: "Subspace dimensions d of the restricted Hessians (each 1 to D − 1).") var dimensions = "10,100"
    @Option(parsing: .unconditional, help: "Independent random subspaces R per (r, d, kind) (2 to 10000, for a standard error).")
    var hyperplanes = Count(8)
    @Option(name: .customLong("init-seed"), help: "Seed of the initial weights (the direction that is rescaled).") var initSeed: UInt64 = 0
    @Option(name: .customLong("per-class"), parsing: .unconditional, help: "The first n examples of each class form the measured subset (at least 2).")
    var perClass = Count(30)
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Top Hessian eigenpairs resolved by block Lanczos for ‖H‖ (1 to 1000).")
    var topK = Count(1)
    @Option(name: .customLong("trace-probes"), parsing: .unconditional,
            help: "Hutchinson probes for Tr(H − G), used only where the trace is not exact (a conv net with tanh).")
    var traceProbes = Count(20)
    @Option(help: "Seed of the subspaces, the Lanczos starts, the training projections and batch order.") var seed: UInt64 = 0
    @Flag(help: "Also train inside random hyperplanes at every r (goldilocks-train.csv, intrinsic.csv).") var train = false
    @Option(name: .customLong("train-dimensions"), help: "Hyperplane dimensions d trained with --train (each 1 to D − 1; the full space is the baseline row).")
    var trainDimensions = "10,100,1000"
    @OptionGroup var training: SubspaceTrainingOptions
    @Option(help: "Output folder.") var output = "results/goldilocks"
    @OptionGroup var sharding: ShardOptions

    func validate() throws {
        for (flag, value) in [("--radius-min", radiusMin), ("--radius-max", radiusMax)] where !(value.isFinite && value > 0 && value <= 1e6) {
            throw ToolError("\(flag) is \(value); give a weight norm in (0, 1e6]")
        }
        guard radiusMax >= radiusMin else { throw ToolError("--radius-max (\(radiusMax)) is below --radius-min (\(radiusMin)); the grid would be empty") }
        for (flag, value, least, most) in [("--points", points.value, 1, 10_000), ("--hyperplanes", hyperplanes.value, 2, 10_000),
                                           ("--per-class", perClass.value, 2, 100_000), ("--top-k", topK.value, 1, 1000),
                                           ("--trace-probes", traceProbes.value, 2, 100_000)] where value < least || value > most {
            throw ToolError("\(flag) is \(value); give \(least) to \(most)")
        }
    }

    /// The log grid of radii.
    var grid: [Double] {
        logSpaced(from: radiusMin, to: radiusMax, count: points.value)
    }

    static let header = ["radius_point", "radius", "standard_init_radius", "dimension", "kind", "hyperplanes", "trace_over_norm",
                         "trace_over_norm_se", "positive_fraction", "positive_fraction_se", "trace", "hessian_norm", "logit_std", "mean_max_prob"]
    static let trainHeader = ["radius_point", "radius", "dimension", "train_accuracy", "test_accuracy", "steps"]

    func run() throws {
        let shard = try sharding.resolve()
        // Everything is checked before any output exists.
        let data = try dataOptions.load()
        let arch = try archOptions.architecture(for: data)
        let d = arch.parameterCount
        guard d >= 3 else { throw ToolError("the network has D = \(d) parameters; the restricted Hessians need at least 3") }
        let dims = try parseDimensions(dimensions, flag: "--dimensions", most: d - 1, why: "D − 1 = \(d - 1): a sphere's tangent space has D − 1 dimensions")
        let balanced: Dataset
        do { balanced = try data.balanced(perClass: perClass.value) } catch let error as DataError { throw ToolError("--per-class \(perClass.value): \(error)") }
        let (x, y) = balanced.batch(Array(0..<balanced.labels.count))
        guard topK.value <= d - 1 else { throw ToolError("--top-k is \(topK.value); give 1 to D − 1 = \(d - 1)") }
        let hvp = CurvatureProducts.memory(architecture: arch, examples: y.count, block: max(dims.max()!, topK.value))
        let bases = 8 * Double(d) * Double(CurvatureProducts.lanczosVectors(count: topK.value, parameters: d))
        try Memory.require(RestrictedCurvature.memoryParts(parameters: d, dimension: dims.max()!)
                           + [("Hessian-vector products", hvp), ("Lanczos bases", bases)],
                           for: "the restricted Hessians", remedy: "lower --dimensions, --per-class, --top-k or the network's size")
        let standard = Network(architecture: arch, seed: initSeed)
        let r0 = BLAS.dot(standard.parameters, standard.parameters).squareRoot()
        let radii = grid
        guard try standard.rescaled(toNorm: radii.last!).logits(x).storage.allSatisfy(\.isFinite) else {
            throw ToolError("--radius-max \(radiusMax) gives non-finite logits on the measured examples; lower it")
        }
        var trainPlan: (dims: [Int], train: Dataset, test: Dataset)?
        if train {
            let test = try dataOptions.load(test: true)
            let trainDims = try parseDimensions(trainDimensions, flag: "--train-dimensions", most: d - 1,
                                                why: "D − 1 = \(d - 1); the full space is the baseline row")
            try training.check(examples: data.labels.count)
            let evalCount = min(training.evalExamples.value, max(data.labels.count, test.labels.count))
            try Memory.require(training.settings(seed: seed).memoryParts(architecture: arch, evalExamples: evalCount)
                               + RandomProjection.memoryParts(parameters: d, dimension: trainDims.max()!), for: "hyperplane training",
                               remedy: "lower --widths (or --channels and --hidden), --batch-size or --eval-examples")
            trainPlan = (trainDims, data, test)
        }

        let manifest = ArchitectureOptions.manifest(arch) + dataOptions.manifest + [
            ("radius_min", .number(radiusMin)), ("radius_max", .number(radiusMax)), ("points", .integer(points.value)),
            ("init_seed", .unsigned(initSeed)), ("seed", .unsigned(seed))]
        let table = try ResumableTable(folder: shard?.folder(output) ?? output, name: "goldilocks.csv", header: GoldilocksCommand.header, keyColumns: 5,
                                       manifest: .object(manifest + [
                                           ("dimensions", .string(dims.map(String.init).joined(separator: ","))),
                                           ("hyperplanes", .integer(hyperplanes.value)), ("per_class", .integer(perClass.value)),
                                           ("top_k", .integer(topK.value)), ("trace_probes", .integer(traceProbes.value))]))
        // One row per (radius point, dimension, kind); the key columns are radius_point…kind (radius and
        // standard_init_radius follow from the point and the manifest).
        struct Item { let point: Int; let kind: String; let dimension: Int }
        var items: [Item] = []
        for p in radii.indices {
            items.append(Item(point: p, kind: "full", dimension: d))
            for dim in dims { for kind in SubspaceKind.allCases { items.append(Item(point: p, kind: kind.rawValue, dimension: dim)) } }
        }
        try table.fill(items, shard: shard, label: "goldilocks", key: { [String($0.point), formatNumber(radii[$0.point]), formatNumber(r0), String($0.dimension), $0.kind] }) { item in
            let r = radii[item.point]
            let net = try standard.rescaled(toNorm: r)
            let common = [String(item.point), formatNumber(r), formatNumber(r0), String(item.dimension), item.kind]
            if item.kind == "full" {
                let f = try FullSpaceCurvature(network: net, inputs: x, labels: y, topK: topK.value, traceProbes: traceProbes.value, seed: seed)
                return (common
                            + ["0", formatNumber(f.traceOverNorm), "0", "nan", "0", formatNumber(f.trace), formatNumber(f.hessianNorm),
                               formatNumber(f.logitStd), formatNumber(f.meanMaxProbability)],
                        String(format: "r = %.3g full: Trace/‖H‖ %.3g, logit std %.3g", r, f.traceOverNorm, f.logitStd))
            }
            let c = try RestrictedCurvature(network: net, inputs: x, labels: y, kind: SubspaceKind(rawValue: item.kind)!,
                                            dimension: item.dimension, subspaces: hyperplanes.value, seed: seed)
            let (ratio, ratioSE) = c.traceOverNormMean, (positive, positiveSE) = c.positiveFractionMean
            let outputs = FullSpaceCurvature.outputs(net, x)
            return (common
                        + [String(c.subspaces), formatNumber(ratio), formatNumber(ratioSE), formatNumber(positive), formatNumber(positiveSE),
                           formatNumber(sampleMean(c.trace).mean), formatNumber(sampleMean(c.norm).mean),
                           formatNumber(outputs.logitStd), formatNumber(outputs.meanMaxProbability)],
                    String(format: "r = %.3g %@ d = %d: Trace/‖·‖ %.3g, positive %.2f", r, item.kind, item.dimension, ratio, positive))
        }
        print("goldilocks: \(Shard.rows(shard, of: items.count)) rows in \(table.url.path)")

        guard let plan = trainPlan else { return }
        let settings = training.settings(seed: seed)
        let trainTable = try ResumableTable(folder: shard?.folder(output) ?? output, name: "goldilocks-train.csv", header: GoldilocksCommand.trainHeader, keyColumns: 3,
                                            manifest: .object(manifest + [("train_dimensions", .string(plan.dims.map(String.init).joined(separator: ",")))]
                                                              + training.manifest))
        let (evalTrain, evalTest) = training.evaluationSets(train: plan.train, test: plan.test)
        var trainItems: [(point: Int, dimension: Int)] = []
        for p in radii.indices { trainItems.append((p, d)); for dim in plan.dims { trainItems.append((p, dim)) } }
        try trainTable.fill(trainItems, shard: shard, label: "goldilocks --train", key: { [String($0.point), formatNumber(radii[$0.point]), String($0.dimension)] }) { item in
            let origin = try standard.rescaled(toNorm: radii[item.point])
            let projection: RandomProjection = item.dimension == d
                ? .identity(parameters: d) : try RandomProjection(parameters: d, dimension: item.dimension, seed: seed)
            let result = try SubspaceTrainer.train(origin: origin, projection: projection, data: plan.train, settings: settings)
            let tr = Trainer.evaluate(result.network, inputs: evalTrain.0, labels: evalTrain.1)
            let te = Trainer.evaluate(result.network, inputs: evalTest.0, labels: evalTest.1)
            return ([String(item.point), formatNumber(radii[item.point]), String(item.dimension),
                     formatNumber(tr.accuracy), formatNumber(te.accuracy), String(result.steps)],
                    String(format: "r = %.3g d = %d: test accuracy %.3f", radii[item.point], item.dimension, te.accuracy))
        }
        // d_int90 needs every radius's rows: a shard leaves it to the unsharded rerun after `merge`.
        if let shard {
            print("goldilocks: shard \(shard): \(shard.share(of: trainItems.count)) training rows in \(trainTable.url.path); after merge, rerun without --shard for intrinsic.csv")
            return
        }
        let intrinsic = try GoldilocksCommand.intrinsicTable(trainTable.url, parameters: d)
        try AtomicFile.write(Data(intrinsic.utf8), to: URL(fileURLWithPath: output).appendingPathComponent("intrinsic.csv"))
        print("goldilocks: \(trainItems.count) training rows in \(trainTable.url.path); d_int90 in intrinsic.csv")
    }

    /// intrinsic.csv from the training table: per radius, the full-space (d = D) test accuracy and
    /// the smallest hyperplane d reaching 90% of it (nan if none).
    static func intrinsicTable(_ url: URL, parameters d: Int) throws -> String {
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        var byPoint: [Int: (radius: String, baseline: Double, rows: [(dimension: Int, accuracy: Double)])] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == trainHeader.count, let point = Int(f[0]), let dim = Int(f[2]) else { continue }
            let accuracy = Double(f[4]) ?? .nan
            var entry = byPoint[point] ?? (f[1], .nan, [])
            if dim == d { entry.baseline = accuracy } else { entry.rows.append((dim, accuracy)) }
            byPoint[point] = entry
        }
        var out = "radius_point,radius,baseline_test_accuracy,d_int90\n"
        for point in byPoint.keys.sorted() {
            let e = byPoint[point]!
            let d90 = intrinsicDimension(baseline: e.baseline, accuracies: e.rows).map(String.init) ?? "nan"
            out += "\(point),\(e.radius),\(formatNumber(e.baseline)),\(d90)\n"
        }
        return out
    }
}
