import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// `fortganguli train`: train a network, writing log-spaced safetensors checkpoints and a log.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an MLP or CNN with SGD or Adam; checkpoints RUN/step-NNNNNN.safetensors and RUN/log.csv; reruns resume.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var archOptions: ArchitectureOptions
    @Option(help: "sgd (with momentum) or adam.") var optimizer = Optimizer.sgd
    @Option(help: "cross-entropy (softmax), hinge (Geiger et al.'s quadratic hinge on one output, classes 0/1 as y = -1/+1), logistic (one output) or mse (one-hot targets).")
    var loss = "cross-entropy"
    @Option(parsing: .unconditional, help: "The hinge's margin ε in Δ = ε − y·f (the paper's 0.5); used by --loss hinge only.")
    var margin = 0.5
    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Step size.") var learningRate = 0.05
    @Option(parsing: .unconditional, help: "SGD momentum, or Adam's β₁.") var momentum = 0.9
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Mini-batch size.") var batchSize = Count(128)
    @Option(parsing: .unconditional, help: "Optimiser steps.") var steps = Count(2000)
    @Option(parsing: .unconditional, help: "Number of log-spaced checkpoints (step 0 and the last step included; at most one per step).")
    var checkpoints = Count(12)
    @Option(name: .customLong("weight-scale"), parsing: .unconditional, help: "Initial weights scaled by α (PyTorch's default init × α).")
    var weightScale = 1.0
    @Option(name: .customLong("eval-examples"), parsing: .unconditional, help: "Train and test examples used for the logged loss and accuracy (at least 1).")
    var evalExamples = Count(2000)
    @Option(help: "Seed of initialisation and batch order.") var seed: UInt64 = 0
    @Option(help: "Run folder.") var output = "results/run"

    func run() throws {
        let train = try dataOptions.load(), test = try dataOptions.load(test: true)
        guard let lossFunction = Loss(name: loss, margin: margin) else {
            throw ToolError("--loss is \(loss); use one of \(Loss.names.joined(separator: ", "))")
        }
        let arch = try archOptions.architecture(for: train, loss: lossFunction)
        var settings = TrainingSettings()
        settings.loss = lossFunction
        (settings.optimizer, settings.learningRate, settings.momentum) = (optimizer, learningRate, momentum)
        (settings.batchSize, settings.steps, settings.seed) = (batchSize.value, steps.value, seed)
        try settings.validate(examples: train.labels.count)
        try settings.validate(checkpoints: checkpoints.value)
        guard weightScale.isFinite && weightScale > 0 && weightScale <= 1e6 else {
            throw ToolError("--weight-scale is \(weightScale); give a number in (0, 1e6]")
        }
        guard evalExamples.value >= 1 else {
            throw ToolError("--eval-examples is \(evalExamples.value); give at least 1 (examples of each split for the logged loss)")
        }
        let evalCount = min(evalExamples.value, max(train.labels.count, test.labels.count))
        try Memory.require(settings.memoryParts(architecture: arch, evalExamples: evalCount), for: "training",
                           remedy: "lower --widths (or --channels and --hidden), --batch-size or --eval-examples")
        // The initial weights must give a finite loss; otherwise the run would stop at step 0 having
        // written only a log that a corrected rerun refuses.
        let (firstX, firstY) = train.batch(Array(0..<min(evalCount, train.labels.count)))
        let initialLoss = Trainer.evaluate(Network(architecture: arch, seed: seed, scale: weightScale), inputs: firstX, labels: firstY,
                                           loss: lossFunction).loss
        guard initialLoss.isFinite else {
            throw ToolError("the initial weights give a non-finite loss (\(initialLoss)); lower --weight-scale (\(weightScale))")
        }
        let schedule = settings.checkpointSteps(count: checkpoints.value)
        let manifest = JSON.object(ArchitectureOptions.manifest(arch) + dataOptions.manifest + [
            ("loss", .string(loss)), ("margin", .number(margin)), ("optimizer", .string(optimizer.rawValue)), ("learning_rate", .number(learningRate)), ("momentum", .number(momentum)),
            ("batch_size", .integer(batchSize.value)), ("steps", .integer(steps.value)), ("weight_scale", .number(weightScale)),
            ("seed", .unsigned(seed)), ("checkpoints", .integer(checkpoints.value)), ("eval_examples", .integer(evalExamples.value)),
        ])
        let log = try ResumableTable(folder: output, name: "log.csv",
                                     header: ["step", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "weight_norm", "seconds"],
                                     keyColumns: 1, manifest: manifest)
        let run = URL(fileURLWithPath: output)
        func checkpointURL(_ s: Int) -> URL { run.appendingPathComponent(String(format: "step-%06d.safetensors", s)) }
        func stateURL(_ s: Int) -> URL { run.appendingPathComponent(String(format: ".optimizer-%06d.safetensors", s)) }
        // Resume from the last logged step. `record` keeps a logged step's optimiser state until the
        // next step is logged, so the last logged step always has its state; older states left by a
        // kill between the log row and the deletion are removed here.
        var net = Network(architecture: arch, seed: seed, scale: weightScale)
        var state = OptimizerState(parameters: arch.parameterCount)
        var startStep = 0
        let logged = schedule.filter { log.isDone([String($0)]) }
        if let last = logged.last {
            guard FileManager.default.fileExists(atPath: stateURL(last).path), FileManager.default.fileExists(atPath: checkpointURL(last).path) else {
                throw ToolError("\(output) logs step \(last) but its checkpoint or optimiser state is missing; delete the run folder to start over")
            }
            net = try Checkpoint.read(checkpointURL(last), architecture: arch).network
            state = try TrainCommand.readState(stateURL(last), arch: arch)
            startStep = last
            for s in schedule where s != last { try? FileManager.default.removeItem(at: stateURL(s)) }
            if last == schedule.last! { print("train: \(output) is complete (\(last) steps)"); return }
        }
        let evalTrain = train.batch(Array(0..<min(evalExamples.value, train.labels.count)))
        let evalTest = test.batch(Array(0..<min(evalExamples.value, test.labels.count)))
        let progress = Progress(total: settings.steps, alreadyDone: startStep, label: "train")
        let clock = Date()
        var lastGood = startStep
        func diverged(_ s: Int) -> ToolError {
            progress.finish()
            let kept = FileManager.default.fileExists(atPath: checkpointURL(lastGood).path)
                ? "kept the last good checkpoint \(checkpointURL(lastGood).lastPathComponent)" : "no checkpoint was kept"
            return ToolError("training diverged at step \(s) (loss is not finite); \(kept); lower --learning-rate")
        }
        // Crash-consistent order: checkpoint and optimiser state (each written whole and renamed into
        // place), then the log row, and only then the previous state is deleted. A kill anywhere
        // leaves the last logged step with its checkpoint and state, so a rerun resumes from it and
        // recomputes (bit for bit) whatever was not logged.
        func record(_ s: Int) throws {
            let tr = Trainer.evaluate(net, inputs: evalTrain.0, labels: evalTrain.1, loss: lossFunction)
            let te = Trainer.evaluate(net, inputs: evalTest.0, labels: evalTest.1, loss: lossFunction)
            guard tr.loss.isFinite && te.loss.isFinite else { throw diverged(s) }
            try Checkpoint.write(net, metadata: ["step": String(s), "loss": lossFunction.description, "train_loss": formatNumber(tr.loss),
                                                 "train_accuracy": formatNumber(tr.accuracy)], to: checkpointURL(s))
            CrashPoint.reached("train: checkpoint \(s) written")
            try TrainCommand.writeState(state, arch: arch, to: stateURL(s))
            CrashPoint.reached("train: optimiser state \(s) written")
            try log.append([String(s), formatNumber(tr.loss), formatNumber(tr.accuracy), formatNumber(te.loss), formatNumber(te.accuracy),
                            formatNumber(BLAS.dot(net.parameters, net.parameters).squareRoot()),
                            formatNumber(Date().timeIntervalSince(clock))])
            CrashPoint.reached("train: log row \(s) written")
            if s != lastGood { try? FileManager.default.removeItem(at: stateURL(lastGood)) }
            lastGood = s
        }
        if startStep == 0 && !log.isDone(["0"]) { try record(0) }
        var step = startStep
        var epochOrder: (epoch: Int, order: [Int]) = (-1, [])
        while step < settings.steps {
            let (epoch, range) = Trainer.slot(step: step, examples: train.labels.count, settings: settings)
            if epoch != epochOrder.epoch { epochOrder = (epoch, Trainer.permutation(epoch: epoch, examples: train.labels.count, settings: settings)) }
            let (x, y) = train.batch(Array(epochOrder.order[range]))
            let loss = Trainer.step(&net, state: &state, x: x, labels: y, settings: settings)
            guard loss.isFinite else { throw diverged(step + 1) }
            step += 1
            progress.step(String(format: "loss %.4f", loss))
            if schedule.contains(step) { try record(step) }
        }
        progress.finish()
        print("train: \(schedule.count) checkpoints in \(run.path) (log.csv)")
    }

    /// Optimiser state as a small safetensors file (momentum and second moments as a 2-layer "network").
    static func writeState(_ s: OptimizerState, arch: Architecture, to url: URL) throws {
        let carrier = try Architecture.mlp(widths: [1, s.first.count], activation: .relu)
        var params = [Double](repeating: 0, count: carrier.parameterCount)
        params.replaceSubrange(0..<s.first.count, with: s.first)
        params.replaceSubrange(s.first.count..<(2 * s.first.count), with: s.second)
        try Checkpoint.write(Network(architecture: carrier, parameters: params), metadata: ["optimizer_step": String(s.step)], to: url)
    }

    static func readState(_ url: URL, arch: Architecture) throws -> OptimizerState {
        let (net, meta) = try Checkpoint.read(url)
        let n = arch.parameterCount
        guard net.parameters.count == 2 * n, let step = meta["optimizer_step"].flatMap(Int.init) else {
            throw ToolError("optimiser state \(url.lastPathComponent) does not match this run; delete the run folder to start over")
        }
        var s = OptimizerState(parameters: n)
        s.step = step
        s.first = Array(net.parameters[0..<n])
        s.second = Array(net.parameters[n...])
        return s
    }
}
