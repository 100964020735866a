import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// `fortganguli condense`: a wide two-layer network trained from a small initialisation, full batch,
/// with its effective width followed along training (Zhang et al. 2021, Figs. 1 and 5): every
/// `--record-every` steps a row of trace.csv gives the loss, the gradient norm, the groups of
/// condensed neurons (`NeuronCondensation`), the loss and output of the narrow network they reduce
/// to, and the distance from that network's embedding back to the wide one. Rows stream and a rerun
/// resumes bit for bit from the state saved with the last row. Rows whose loss fell by less than
/// `--plateau-tolerance` (relative) since the previous row are plateau rows; each plateau's wide
/// network and its reduction are kept as checkpoints (at the plateau's last row), summarised in
/// plateaus.csv, ready for `embed --check`.
struct CondenseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "condense",
        abstract: "Train a wide two-layer MLP from a small initialisation (full batch) and follow its effective width: trace.csv (loss, gradient norm, condensed groups, the reduced network's loss and output), plateau checkpoints and plateaus.csv; reruns resume.")

    @OptionGroup var set: TrainingSetOptions
    @Option(parsing: .unconditional, help: "Hidden width m of the two-layer network (inputs, m, outputs).") var width = Count(100)
    @Option(help: "tanh or relu.") var activation = Activation.tanh
    @Option(help: "mse (to the targets of a regression set, or to one-hot labels) or cross-entropy.") var loss = "mse"
    @Option(help: "sgd (gradient descent, with --momentum) or adam.") var optimizer = Optimizer.sgd
    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Step size.") var learningRate = 0.2
    @Option(parsing: .unconditional, help: "Momentum of gradient descent (0: plain gradient descent, as the paper), or Adam's β₁.")
    var momentum = 0.0
    @Option(parsing: .unconditional, help: "Optimiser steps (1 to 1e9).") var steps = Count(50000)
    @Option(name: .customLong("record-every"), parsing: .unconditional, help: "Steps between rows of trace.csv.") var recordEvery = Count(500)
    @Option(name: .customLong("init-std"), parsing: .unconditional, help: "Initial weights and biases drawn from N(0, std²): small, so training starts near the origin.")
    var initStd = 1e-3
    @Option(parsing: .unconditional, help: "Neurons whose (for tanh: absolute) cosine of input-weight vectors (with the bias) reaches this with a group's leader join the group.")
    var cosine = 0.99
    @Option(parsing: .unconditional, help: "Neurons whose amplitude ‖a‖·‖v‖ is below this fraction of the largest are negligible (ignored).")
    var negligible = 0.01
    @Option(name: .customLong("reduced-steps"), parsing: .unconditional,
            help: "At plateau rows and the last row, the reduced network is trained on its own for this many steps (same optimiser; 0: skip) to see where it settles.")
    var reducedSteps = Count(2000)
    @Option(name: .customLong("plateau-tolerance"), parsing: .unconditional, help: "A row is on a plateau when the loss fell by less than this fraction since the previous row.")
    var plateauTolerance = 0.01
    @Option(help: "Seed of the initialisation.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/condense"

    static let header = ["step", "loss", "gradient_norm", "weight_norm", "loss_change", "plateau",
                         "effective_width", "group_sizes", "negligible_neurons", "smallest_cosine",
                         "reduced_loss", "reduced_output_difference", "within_group_spread", "negligible_norm", "reembedding_distance",
                         "reduced_trained_loss", "reduced_trained_gradient_norm", "reduced_trained_output_difference"]
    static let stateName = ".condense-state.safetensors"

    var condensation: CondensationSettings { CondensationSettings(cosineThreshold: cosine, negligibleFraction: negligible) }

    /// One row of the trace and what the next row needs.
    struct Row {
        var fields: [String]
        var loss: Double
        var plateau: Bool
        var plateauStart: Int
        var condensation: NeuronCondensation
    }

    func run() throws {
        // Every input is checked before the output folder exists.
        let trainingSet = set.resolved(fallback: TrainingSet(data: "fit1d", classSubset: nil, perClass: nil))!
        let data = try trainingSet.load()
        let lossFunction = try embeddingLoss(loss, for: data)
        guard width.value >= 1 && width.value <= 100_000 else { throw ToolError("--width is \(width.value); give 1 to 100000") }
        let arch = try embeddingArchitecture(widths: "\(data.features),\(width.value),\(outputs(of: data))", activation: activation, data: data)
        var settings = TrainingSettings()
        (settings.optimizer, settings.learningRate, settings.momentum, settings.steps, settings.loss) =
            (optimizer, learningRate, momentum, steps.value, lossFunction)
        settings.batchSize = data.count   // full batch
        do { try settings.validate(examples: data.count) } catch let error as NetworkError { throw ToolError(error.description) }
        guard recordEvery.value >= 1 && recordEvery.value <= steps.value else {
            throw ToolError("--record-every is \(recordEvery.value); give 1 to --steps (\(steps.value))")
        }
        guard steps.value / recordEvery.value <= 100_000 else { throw ToolError("--steps / --record-every gives more than 100000 rows; raise --record-every") }
        guard initStd.isFinite && initStd > 0 && initStd <= 1e3 else { throw ToolError("--init-std is \(initStd); give a number in (0, 1000]") }
        if let problem = condensation.problem {
            throw ToolError(problem.hasPrefix("the cosine") ? "--cosine: \(problem)" : "--negligible: \(problem)")
        }
        guard (0...TrainingSettings.maximumSteps).contains(reducedSteps.value) else {
            throw ToolError("--reduced-steps is \(reducedSteps.value); give 0 to \(TrainingSettings.maximumSteps)")
        }
        guard plateauTolerance.isFinite && plateauTolerance >= 0 && plateauTolerance < 1 else {
            throw ToolError("--plateau-tolerance is \(plateauTolerance); give a relative loss change in [0, 1)")
        }
        try Memory.require(settings.memoryParts(architecture: arch, evalExamples: 0)
                           + [("a full batch's activations", 8 * 4 * Double(data.count) * arch.activationDoublesPerExample)],
                           for: "full-batch training", remedy: "lower --width or --per-class")
        let batch = FullBatch(data: data, loss: lossFunction)
        let start = Network(architecture: arch, gaussianStandardDeviation: initStd, seed: seed)
        guard batch.value(start).isFinite else { throw ToolError("the initial weights give a non-finite loss; lower --init-std (\(initStd))") }

        let manifest = JSON.object([("width", .integer(width.value)), ("activation", .string(activation.rawValue)), ("loss", .string(lossFunction.name))]
            + trainingSet.manifest + [
            ("optimizer", .string(optimizer.rawValue)), ("learning_rate", .number(learningRate)), ("momentum", .number(momentum)),
            ("steps", .integer(steps.value)), ("record_every", .integer(recordEvery.value)), ("init_std", .number(initStd)),
            ("cosine", .number(cosine)), ("negligible", .number(negligible)), ("reduced_steps", .integer(reducedSteps.value)),
            ("plateau_tolerance", .number(plateauTolerance)),
            ("seed", .unsigned(seed))])
        let table = try ResumableTable(folder: output, name: "trace.csv", header: CondenseCommand.header, keyColumns: 1, manifest: manifest)
        let folder = URL(fileURLWithPath: output).standardizedFileURL
        let stateURL = folder.appendingPathComponent(CondenseCommand.stateName)
        var metadata = trainingSet.metadata
        metadata["loss"] = lossFunction.description

        // Resume from the state saved with the last row, if any.
        var net = start
        var state = OptimizerState(parameters: arch.parameterCount)
        var (step, previousLoss, previousStart, previousWidth) = (0, Double.nan, -1, -1)
        if FileManager.default.fileExists(atPath: stateURL.path) {
            (net, state, step, previousLoss, previousStart, previousWidth) = try CondenseCommand.readState(stateURL, architecture: arch)
        } else if table.isDone(["0"]) {
            throw ToolError("\(table.url.path) has rows but its training state \(CondenseCommand.stateName) is missing; delete the folder to start over")
        }
        let rows = steps.value / recordEvery.value + (steps.value % recordEvery.value == 0 ? 1 : 2)
        let progress = Progress(total: rows, alreadyDone: min(rows, table.done.count), label: "condense")
        var last: Row
        while true {
            last = try row(net, step: step, batch: batch, settings: settings, previousLoss: previousLoss, previousStart: previousStart,
                           previousWidth: previousWidth)
            if !table.isDone([String(step)]) {
                if last.plateau { try writeCheckpoints(net, last, step: step, prefix: String(format: "plateau-%09d", last.plateauStart), metadata: metadata, in: folder) }
                try CondenseCommand.writeState(net, state, step: step, previous: (previousLoss, previousStart, previousWidth), to: stateURL)
                CrashPoint.reached("condense: state \(step) written")
                try table.append(last.fields)
                progress.step(String(format: "loss %.4g, effective width %d", last.loss, last.condensation.effectiveWidth))
            }
            if step >= steps.value { break }
            (previousLoss, previousStart, previousWidth) = (last.loss, last.plateauStart, last.condensation.effectiveWidth)
            let next = min(step + recordEvery.value, steps.value)
            while step < next {
                let (l, _) = FullBatchTraining.step(&net, state: &state, batch: batch, settings: settings)
                guard l.isFinite else {
                    progress.finish()
                    throw ToolError("training diverged at step \(step) (the loss or an update is not finite); rows up to step \(step - step % recordEvery.value) are kept; lower --learning-rate (\(learningRate))")
                }
                step += 1
            }
        }
        progress.finish()
        try writeCheckpoints(net, last, step: step, prefix: "final", metadata: metadata, in: folder)
        let plateaus = try CondenseCommand.plateauTable(table.url)
        try AtomicFile.write(Data(plateaus.text.utf8), to: folder.appendingPathComponent("plateaus.csv"))
        print(String(format: "condense: %d rows in %@; final loss %.4g, effective width %d (reduced loss %.4g); %d plateau segment%@: %@",
                     rows, table.url.path, last.loss, last.condensation.effectiveWidth, Double(last.fields[10]) ?? .nan, plateaus.summary.count,
                     plateaus.summary.count == 1 ? "" : "s", plateaus.summary.joined(separator: "; ")))
    }

    /// The trace row at `step`.
    func row(_ net: Network, step: Int, batch: FullBatch, settings: TrainingSettings, previousLoss: Double, previousStart: Int,
             previousWidth: Int) throws -> Row {
        let (l, g) = batch.lossAndGradient(net)
        let c = try NeuronCondensation(network: net, layer: 1, settings: condensation)
        let z = net.logits(batch.inputs)
        var reducedLoss = Double.nan, difference = Double.nan
        if let r = c.reduced {
            reducedLoss = batch.value(r)
            difference = r.logits(batch.inputs).maxAbsDifference(z)
        }
        let change = previousLoss.isFinite && previousLoss > 0 ? (previousLoss - l) / previousLoss : Double.nan
        let plateau = change.isFinite && change < plateauTolerance
        // At a plateau and at the end, the paper's test: train the reduced network on its own and see
        // where it settles (the point of smallest gradient norm in `--reduced-steps` steps).
        var trained = (loss: Double.nan, gradient: Double.nan, difference: Double.nan)
        if (plateau || step == steps.value) && reducedSteps.value > 0, let r = c.reduced {
            var s = settings
            s.steps = reducedSteps.value
            let t = FullBatchTraining.train(r, batch: batch, settings: s, tolerance: 0)
            if !t.diverged { trained = (t.loss, t.gradientNorm, t.network.logits(batch.inputs).maxAbsDifference(z)) }
        }
        let startStep = plateau ? (previousStart >= 0 && previousWidth == c.effectiveWidth ? previousStart : step) : -1
        let fields = [String(step), formatNumber(l), formatNumber(BLAS.dot(g, g).squareRoot()),
                      formatNumber(BLAS.dot(net.parameters, net.parameters).squareRoot()), formatNumber(change), plateau ? "1" : "0",
                      String(c.effectiveWidth), c.groups.map { String($0.count) }.joined(separator: ";"), String(c.negligible.count),
                      formatNumber(c.groups.isEmpty ? .nan : c.smallestCosine),
                      formatNumber(reducedLoss), formatNumber(difference), formatNumber(c.withinGroupSpread), formatNumber(c.negligibleNorm),
                      formatNumber(c.reembeddingDistance(to: net)),
                      formatNumber(trained.loss), formatNumber(trained.gradient), formatNumber(trained.difference)]
        return Row(fields: fields, loss: l, plateau: plateau, plateauStart: startStep, condensation: c)
    }

    /// The wide network and its reduction as PREFIX.safetensors and PREFIX-reduced.safetensors, each
    /// written whole and renamed into place.
    func writeCheckpoints(_ net: Network, _ row: Row, step: Int, prefix: String, metadata: [String: String], in folder: URL) throws {
        var m = metadata
        m["step"] = String(step)
        m["effective_width"] = String(row.condensation.effectiveWidth)
        m["group_sizes"] = row.fields[7]
        do {
            try Checkpoint.write(net, metadata: m, to: folder.appendingPathComponent("\(prefix).safetensors"))
            if let r = row.condensation.reduced {
                m["reduced_from"] = "\(prefix).safetensors"
                try Checkpoint.write(r, metadata: m, to: folder.appendingPathComponent("\(prefix)-reduced.safetensors"))
            }
        } catch let error as NetworkError { throw ToolError(error.description) }
    }

    /// Network, optimiser state and the previous row's loss and plateau start, in one small
    /// safetensors file: a carrier "network" of widths [3, D] whose parameters hold θ, then the
    /// optimiser's first and second moments.
    static func writeState(_ net: Network, _ s: OptimizerState, step: Int, previous: (loss: Double, start: Int, width: Int), to url: URL) throws {
        let d = net.parameters.count
        let carrier = try Architecture.mlp(widths: [3, d], activation: .relu)
        var values = net.parameters + s.first + s.second
        values += [Double](repeating: 0, count: carrier.parameterCount - values.count)
        let metadata = ["step": String(step), "optimizer_step": String(s.step), "previous_loss": formatNumber(previous.loss),
                        "previous_plateau_start": String(previous.start), "previous_width": String(previous.width)]
        do { try Checkpoint.write(Network(architecture: carrier, parameters: values), metadata: metadata, to: url) }
        catch let error as NetworkError { throw ToolError(error.description) }
    }

    static func readState(_ url: URL, architecture: Architecture) throws
        -> (Network, OptimizerState, step: Int, previousLoss: Double, previousStart: Int, previousWidth: Int) {
        let d = architecture.parameterCount
        let read: (network: Network, metadata: [String: String])
        do { read = try Checkpoint.read(url) } catch let error as NetworkError {
            throw ToolError("the training state \(url.path) cannot be read (\(error)); delete the folder to start over")
        }
        let m = read.metadata
        guard read.network.parameters.count == 4 * d, let step = m["step"].flatMap(Int.init), let opt = m["optimizer_step"].flatMap(Int.init),
              let start = m["previous_plateau_start"].flatMap(Int.init), let width = m["previous_width"].flatMap(Int.init),
              let previous = m["previous_loss"] else {
            throw ToolError("the training state \(url.path) does not match this run; delete the folder to start over")
        }
        let v = read.network.parameters
        var s = OptimizerState(parameters: d)
        s.step = opt
        s.first = Array(v[d..<(2 * d)])
        s.second = Array(v[(2 * d)..<(3 * d)])
        return (Network(architecture: architecture, parameters: Array(v[0..<d])), s, step, Double(previous) ?? .nan, start, width)
    }

    /// plateaus.csv from the trace: one row per plateau segment (consecutive plateau rows of one
    /// effective width), and a short summary of each.
    static func plateauTable(_ url: URL) throws -> (text: String, summary: [String]) {
        let lines = String(decoding: try Data(contentsOf: url), as: UTF8.self).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        guard let head = lines.first else { return ("", []) }
        func column(_ name: String) -> Int { head.firstIndex(of: name)! }
        let (step, loss, width, reduced, trained, plateau) = (column("step"), column("loss"), column("effective_width"),
                                                              column("reduced_loss"), column("reduced_trained_loss"), column("plateau"))
        var text = "first_step,last_step,rows,effective_width,loss_first,loss_last,reduced_loss,reduced_trained_loss,checkpoint\n"
        var summary: [String] = []
        var run: [[String]] = []
        func close() {
            guard let first = run.first, let end = run.last else { return }
            let name = String(format: "plateau-%09d.safetensors", Int(first[step]) ?? 0)
            text += [first[step], end[step], String(run.count), end[width], first[loss], end[loss], end[reduced], end[trained], name]
                .joined(separator: ",") + "\n"
            summary.append("steps \(first[step])–\(end[step]) width \(end[width]) at loss \(String(format: "%.5g", Double(end[loss]) ?? .nan)) (reduced net trained alone: \(String(format: "%.5g", Double(end[trained]) ?? .nan)))")
            run = []
        }
        for fields in lines.dropFirst() where fields.count == head.count {
            if fields[plateau] == "1" {
                if let last = run.last, last[width] != fields[width] { close() }
                run.append(fields)
            } else {
                close()
            }
        }
        close()
        return (text, summary)
    }
}
