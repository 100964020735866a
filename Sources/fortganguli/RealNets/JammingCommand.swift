import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// Keeps freed memory in the process instead of returning it to the kernel: a full-batch step
/// allocates and frees activation matrices of a few hundred kB, which glibc would otherwise map
/// and unmap every time (measured: half of a jamming run's wall time went to page faults).
/// glibc's `mallopt` is looked up at run time (Swift's Glibc module does not import malloc.h);
/// elsewhere this does nothing.
func keepFreedMemory() {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    let (trimThreshold, mmapThreshold): (Int32, Int32) = (-1, -3)   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD in malloc.h
    _ = mallopt(mmapThreshold, 32 << 20)   // glibc's largest: blocks up to 32 MiB come from the heap
    _ = mallopt(trimThreshold, Int32.max)  // and the heap is never trimmed
}

/// The `--data` of the jamming commands: `random`, `fashion-mnist-pca` (Debian's Fashion-MNIST, or
/// for `jamming-spectrum` the folder the checkpoint records) or `fashion-mnist-pca:DIR`.
struct JammingDataChoice {
    let kind: JammingDataKind
    let folder: URL?

    init(kind: JammingDataKind, folder: URL?) { (self.kind, self.folder) = (kind, folder) }

    init(_ text: String) throws {
        if text == JammingDataKind.random.rawValue {
            (kind, folder) = (.random, nil)
        } else if text == JammingDataKind.fashionMNISTPCA.rawValue {
            (kind, folder) = (.fashionMNISTPCA, nil)
        } else if text.hasPrefix("fashion-mnist-pca:"), text.count > 18 {
            (kind, folder) = (.fashionMNISTPCA, URL(fileURLWithPath: String(text.dropFirst(18))))
        } else {
            throw ToolError("--data \(text) is not a jamming data set; use random, fashion-mnist-pca or fashion-mnist-pca:DIR (a folder of Fashion-MNIST IDX files)")
        }
    }

    /// Prepares the source (for the PCA data: reads the images and projects them), refusing
    /// unusable input in one line.
    func source(dimension d: Int) throws -> JammingDataSource {
        if kind == .fashionMNISTPCA {
            try Memory.require([("Fashion-MNIST images and their centred copies", 8 * 3 * 60_000 * 784)], for: "the PCA of Fashion-MNIST",
                               remedy: "free memory or use --data random")
        }
        do { return try JammingDataSource(kind: kind, dimension: d, folder: folder) } catch let error as DataError {
            throw ToolError("--data \(kind.rawValue): \(error.description)")
        }
    }
}

/// `fortganguli jamming`: the jamming transition of Geiger et al. (2018). A ReLU network with L
/// hidden layers of width h on d inputs is trained with the quadratic hinge on P = r·N patterns
/// for a grid of r and several seeds; each run records N_Δ/N, the loss, misclassified patterns
/// and whether it fitted; r_c and the jump of N_Δ/N come from the grid, θ and γ from the overlaps
/// of the runs just above r_c.
struct JammingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jamming",
        abstract: "Hinge-loss training of a ReLU network on P = r·N patterns over a grid of r and seeds: N_Δ/N, loss, fitted (jamming.csv, each run's checkpoint), r_c, the jump of N_Δ/N, θ and γ (summary.json); reruns resume.")

    @Option(help: "random (Gaussian points on the sphere, random labels), fashion-mnist-pca (Debian's Fashion-MNIST on d whitened principal components, parity labels) or fashion-mnist-pca:DIR.")
    var data = "random"
    @Option(name: .customLong("input-dimension"), parsing: .unconditional, help: "Input dimension d (the PCA components for fashion-mnist-pca).")
    var inputDimension = Count(10)
    @Option(parsing: .unconditional, help: "Hidden width h.") var width = Count(10)
    @Option(parsing: .unconditional, help: "Hidden layers L.") var depth = Count(2)
    @Option(name: .customLong("r-min"), parsing: .unconditional, help: "Smallest r = P/N of the grid.") var rMin = 1.0
    @Option(name: .customLong("r-max"), parsing: .unconditional, help: "Largest r = P/N of the grid.") var rMax = 4.0
    @Option(parsing: .unconditional, help: "Equally spaced r points from --r-min to --r-max (1 to 1000).") var points = Count(7)
    @Option(parsing: .unconditional, help: "Seeds a point (1 to 1000); run s uses seed --seed + s for its data and initialisation.")
    var seeds = Count(3)
    @Option(help: "First seed.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Step budget of each run (full-batch Adam; a run stops earlier when every pattern is satisfied).")
    var steps = Count(10_000)
    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Adam's initial learning rate η₀.") var learningRate = 1e-2
    @Option(parsing: .unconditional, help: "Times η is divided by 10 within the budget (at 1/(k+1), 2/(k+1), … of it).") var decays = Count(2)
    @Option(parsing: .unconditional, help: "The hinge's margin ε in Δ = ε − y·f (the paper's 0.5).") var margin = 0.5
    @Option(help: "Output folder.") var output = "results/jamming"
    @OptionGroup var sharding: ShardOptions

    static let header = ["point", "seed", "r", "examples", "parameters", "parameters_total", "n_delta", "n_delta_over_n", "loss",
                         "misclassified", "steps", "fitted", "diverged", "seconds"]

    func validate() throws {
        for (flag, value, least, most) in [("--input-dimension", inputDimension.value, 1, 100_000), ("--width", width.value, 1, 100_000),
                                           ("--depth", depth.value, 1, 100), ("--points", points.value, 1, 1000),
                                           ("--seeds", seeds.value, 1, 1000), ("--decays", decays.value, 0, 20)]
        where value < least || value > most {
            throw ToolError("\(flag) is \(value); give \(least) to \(most)")
        }
        guard steps.value >= 1 && steps.value <= TrainingSettings.maximumSteps else {
            throw ToolError("--steps is \(steps.value); give a step budget of 1 to \(TrainingSettings.maximumSteps)")
        }
        for (flag, value) in [("--r-min", rMin), ("--r-max", rMax)] where !(value.isFinite && value > 0 && value <= 1e6) {
            throw ToolError("\(flag) is \(value); give r = P/N in (0, 1e6]")
        }
        guard rMax >= rMin else { throw ToolError("--r-max (\(rMax)) is below --r-min (\(rMin)); the grid would be empty") }
        do { try settings.validate() } catch let error as NetworkError { throw ToolError(error.description) }
    }

    var settings: JammingSettings {
        var s = JammingSettings()
        (s.margin, s.learningRate, s.steps, s.decays) = (margin, learningRate, steps.value, decays.value)
        return s
    }

    /// The r grid: `points` equally spaced values from r-min to r-max.
    var grid: [Double] {
        (0..<points.value).map { points.value == 1 ? rMin : rMin + (rMax - rMin) * Double($0) / Double(points.value - 1) }
    }

    /// The run folder of a grid point and seed, relative to the output folder.
    static func runFolder(point: Int, seed: UInt64) -> String { String(format: "runs/point-%03d-seed-", point) + String(seed) }

    func run() throws {
        keepFreedMemory()
        // Everything is checked before any output exists.
        let shard = try sharding.resolve()
        let choice = try JammingDataChoice(data)
        let widths = [inputDimension.value] + [Int](repeating: width.value, count: depth.value) + [1]
        let arch: Architecture
        do { arch = try Architecture.mlp(widths: widths, activation: .relu) } catch let error as NetworkError {
            throw ToolError("--input-dimension, --width and --depth: \(error.description)")
        }
        let n = arch.jammingParameters, d = arch.parameterCount
        let examples = grid.map { Int(($0 * Double(n)).rounded()) }
        if let bad = examples.indices.first(where: { examples[$0] < 1 }) {
            throw ToolError("--r-min \(rMin) gives P = r·N = \(formatNumber(grid[bad])) × \(n) < 1 pattern at grid point \(bad); raise --r-min to at least \(formatNumber(0.5 / Double(n)))")
        }
        let most = examples.max()!
        try Memory.require(settings.memoryParts(architecture: arch, examples: most), for: "the jamming grid",
                           remedy: "lower --r-max, --width or --depth")
        let source = try choice.source(dimension: inputDimension.value)
        guard most <= source.capacity else {
            throw ToolError("--r-max \(rMax) needs P = \(most) patterns but \(data) has \(source.capacity); lower --r-max to at most \(formatNumber(Double(source.capacity) / Double(n)))")
        }
        let runSeeds = (0..<seeds.value).map { seed &+ UInt64($0) }

        let manifest: [(String, JSON)] = [
            ("data", .string(data)), ("input_dimension", .integer(inputDimension.value)), ("width", .integer(width.value)),
            ("depth", .integer(depth.value)), ("r_min", .number(rMin)), ("r_max", .number(rMax)), ("points", .integer(points.value)),
            ("seeds", .integer(seeds.value)), ("seed", .unsigned(seed)), ("steps", .integer(steps.value)),
            ("learning_rate", .number(learningRate)), ("decays", .integer(decays.value)), ("margin", .number(margin))]
        let table = try ResumableTable(folder: shard?.folder(output) ?? output, name: "jamming.csv", header: JammingCommand.header,
                                       keyColumns: 2, manifest: .object(manifest))
        // Run folders live under OUTPUT/runs/ for every shard (one writer per run: the shard that owns
        // its row), so that after `merge` the unsharded rerun finds them for the summary.
        let folder = URL(fileURLWithPath: output)
        struct Item { let point: Int; let seed: UInt64 }
        let items = grid.indices.flatMap { p in runSeeds.map { Item(point: p, seed: $0) } }
        let s = settings
        try table.fill(items, shard: shard, label: "jamming", key: { [String($0.point), String($0.seed)] }) { item in
            let p = examples[item.point], r = Double(p) / Double(n)
            let clock = Date()
            let spec = source.spec(examples: p, seed: item.seed)
            let set = try source.dataset(examples: p, seed: item.seed)
            let start = try Network.orthogonal(architecture: arch, seed: item.seed)
            let outcome = JammingTrainer.train(start, data: set, settings: s)
            try JammingCommand.writeRun(outcome, spec: spec, settings: s, to: folder.appendingPathComponent(JammingCommand.runFolder(point: item.point, seed: item.seed)))
            let fit = outcome.fit
            let fields = [String(item.point), String(item.seed), formatNumber(r), String(p), String(n), String(d), String(fit.unsatisfied),
                          formatNumber(Double(fit.unsatisfied) / Double(n)), formatNumber(fit.loss), String(fit.misclassified),
                          String(outcome.steps), outcome.fitted ? "1" : "0", outcome.diverged ? "1" : "0",
                          formatNumber(Date().timeIntervalSince(clock))]
            return (fields, String(format: "r = %.3g seed %@: N_Δ/N = %.3f after %d steps", r, String(item.seed),
                                   Double(fit.unsatisfied) / Double(n), outcome.steps))
        }
        // r_c, the jump, θ and γ need every row: a shard leaves them to the unsharded rerun after `merge`.
        if let shard {
            print("jamming: \(Shard.rows(shard, of: items.count)) runs in \(table.url.path); after merge, rerun without --shard for summary.json")
            return
        }
        let summary = try JammingCommand.summarise(table: table.url, folder: folder, manifest: manifest, parameters: n, parametersTotal: d,
                                                   spacing: points.value > 1 ? (rMax - rMin) / Double(points.value - 1) : nil)
        try AtomicFile.write(summary.json.data, to: folder.appendingPathComponent("summary.json"))
        print("jamming: \(items.count) runs in \(table.url.path); \(summary.line)")
    }

    /// A run's folder: the final network (safetensors, with the data recipe, loss and outcome in its
    /// metadata), every pattern's Δ (delta.npy) and the history of N_Δ and the loss (history.csv),
    /// each written whole before the table row that names the run.
    static func writeRun(_ outcome: JammingOutcome, spec: JammingDataSpec, settings s: JammingSettings, to url: URL) throws {
        try OutputFolder.makeDirectories(url, shownAs: url.path)
        var metadata = spec.metadata
        metadata["loss"] = s.loss.description
        metadata["init"] = "orthogonal"
        metadata["step"] = String(outcome.steps)
        metadata["n_delta"] = String(outcome.fit.unsatisfied)
        metadata["train_loss"] = formatNumber(outcome.fit.loss)
        metadata["fitted"] = outcome.fitted ? "1" : "0"
        metadata["optimizer"] = "adam full-batch lr \(formatNumber(s.learningRate)) /10 x\(s.decays) over \(s.steps) steps, betas \(formatNumber(s.beta1)),\(formatNumber(s.beta2))"
        do { try Checkpoint.write(outcome.network, metadata: metadata, to: url.appendingPathComponent("model.safetensors")) } catch let error as NetworkError {
            throw ToolError(error.description)
        }
        try AtomicFile.write(NPY.encode(outcome.fit.deltas), to: url.appendingPathComponent("delta.npy"))
        var history = "step,n_delta,loss\n"
        for h in outcome.history { history += "\(h.step),\(h.unsatisfied),\(formatNumber(h.loss))\n" }
        try AtomicFile.write(Data(history.utf8), to: url.appendingPathComponent("history.csv"))
    }

    /// summary.json from the finished table: the transition, the jump, and θ, γ pooled over the
    /// runs at the smallest r where no seed fitted (the runs just above r_c).
    static func summarise(table: URL, folder: URL, manifest: [(String, JSON)], parameters n: Int, parametersTotal d: Int,
                          spacing: Double?) throws -> (json: JSON, line: String) {
        let text = String(decoding: try Data(contentsOf: table), as: UTF8.self)
        var runs: [(point: Int, result: JammingRunResult, examples: Int)] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == header.count, let point = Int(f[0]), let seed = UInt64(f[1]), let r = Double(f[2]), let p = Int(f[3]),
                  let fraction = Double(f[7]), let loss = Double(f[8]) else { continue }
            runs.append((point, JammingRunResult(r: r, seed: seed, unsatisfiedFraction: fraction, loss: loss, fitted: f[11] == "1"), p))
        }
        let transition = JammingTransition(runs.map(\.result))
        let (aboveIndices, nearestIndex) = transition.runsJustAbove(runs.map(\.result))
        let above = aboveIndices.map { runs[$0] }
        var pooled: [(deltas: [Double], loss: Double)] = []
        for run in above {
            let url = folder.appendingPathComponent(runFolder(point: run.point, seed: run.result.seed)).appendingPathComponent("delta.npy")
            guard let data = try? Data(contentsOf: url), let array = try? NPY.decode(data) else {
                throw ToolError("\(url.path) is missing or unreadable; delete its row from jamming.csv and rerun to recompute the run")
            }
            pooled.append((array.values, run.result.loss))
        }
        let gaps = GapExponents(runs: pooled)
        let nearest = nearestIndex.map { runs[$0] }
        func number(_ x: Double?) -> JSON { x.map { .number($0) } ?? .null }
        let rc = transition.estimate
        let json = JSON.object(manifest + [
            ("parameters", .integer(n)), ("parameters_total", .integer(d)), ("runs", .integer(runs.count)),
            ("r_c", number(rc)), ("r_c_resolution", number(transition.resolution)), ("grid_spacing", number(spacing)),
            ("r_all_fitted", number(transition.lastAllFitted)), ("r_none_fitted", number(transition.firstNoneFitted)),
            ("monotone", .bool(transition.monotone)),
            ("p_star", number(rc.map { $0 * Double(n) })),
            ("n_delta_over_n_jump", number(transition.jump?.mean)), ("n_delta_over_n_jump_standard_error", number(transition.jump?.standardError)),
            ("fitted_fraction", .array(transition.fittedFraction.map { .array([.number($0.r), .number($0.fraction)]) })),
            ("transition_runs", .array(above.map { .string(runFolder(point: $0.point, seed: $0.result.seed)) })),
            ("spectrum_checkpoint", nearest.map { .string(runFolder(point: $0.point, seed: $0.result.seed) + "/model.safetensors") } ?? .null),
            ("theta", number(gaps.theta?.exponent)), ("theta_standard_error", number(gaps.theta?.standardError)),
            ("theta_range", gaps.theta.map { .numbers([$0.low, $0.high]) } ?? .null), ("theta_samples", .integer(gaps.theta?.count ?? 0)),
            ("gamma", number(gaps.gammaValue)), ("gamma_standard_error", number(gaps.gamma?.standardError)),
            ("gamma_range", gaps.gamma.map { .numbers([$0.low, $0.high]) } ?? .null), ("gamma_samples", .integer(gaps.gamma?.count ?? 0)),
        ])
        var line: String
        if let rc, let res = transition.resolution {
            line = String(format: "r_c = %.3g ± %.2g (every seed fits at r = %.3g, none at r = %.3g)", rc, res,
                          transition.lastAllFitted!, transition.firstNoneFitted!)
        } else if !transition.monotone {
            line = "r_c not bracketed: a point where every seed fits lies above one where none does; add seeds or steps"
        } else if let low = transition.lastAllFitted {
            line = String(format: "r_c > %.3g (every seed fits there), and no r of the grid has every seed failing; raise --r-max", low)
        } else if let high = transition.firstNoneFitted {
            line = String(format: "r_c < %.3g (no seed fits there), and no r of the grid has every seed fitted; lower --r-min", high)
        } else {
            line = "r_c not bracketed: every point has seeds that fit and seeds that do not; widen the grid"
        }
        if let jump = transition.jump { line += String(format: "; N_Δ/N = %.3f ± %.2g just above", jump.mean, jump.standardError) }
        if let t = gaps.theta { line += String(format: "; θ = %.2f ± %.2f", t.exponent, t.standardError) }
        if let g = gaps.gamma { line += String(format: ", γ = %.2f ± %.2f", -g.exponent, g.standardError) }
        return (json, line)
    }
}

extension JammingSettings {
    /// Memory of one run at P patterns: parameters, gradient, Adam's moments and the data, and the
    /// full-batch activations of a forward and backward pass.
    func memoryParts(architecture a: Architecture, examples p: Int) -> [(String, Double)] {
        [("parameters, gradient and optimiser state", 8 * 8 * Double(a.parameterCount)),
         ("patterns", 8 * 2 * Double(p) * Double(a.inputs)),
         ("full-batch activations", 8 * 3 * Double(p) * a.activationDoublesPerExample)]
    }
}
