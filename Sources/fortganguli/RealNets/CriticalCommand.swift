import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// `fortganguli critical`: full-batch training of a small MLP to a critical point (gradient norm
/// below a tolerance), refined by Newton's method; the narrow network of the embedding experiments.
struct CriticalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "critical",
        abstract: "Train a small MLP on a whole training set (gradient descent or Adam, then Newton) to a critical point: DIR/critical.safetensors, summary.json, log.csv.")

    @OptionGroup var set: TrainingSetOptions
    @Option(help: "MLP widths, input to output (fit1d: 1,m,1).") var widths = "1,1,1"
    @Option(help: "tanh or relu.") var activation = Activation.tanh
    @Option(help: "mse (to the targets of a regression set, or to one-hot labels) or cross-entropy.") var loss = "mse"
    @Option(help: "sgd (gradient descent, with --momentum) or adam.") var optimizer = Optimizer.sgd
    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Step size.") var learningRate = 0.1
    @Option(parsing: .unconditional, help: "Momentum of gradient descent, or Adam's β₁.") var momentum = 0.9
    @Option(parsing: .unconditional, help: "Largest number of optimiser steps (1 to 1e9).") var steps = Count(20000)
    @Option(name: .customLong("gradient-tolerance"), parsing: .unconditional, help: "Stop training when the gradient norm is at most this.")
    var gradientTolerance = 1e-8
    @Option(name: .customLong("newton-steps"), parsing: .unconditional,
            help: "Newton iterations after training (0: none), each with the dense Hessian; they stop at a gradient norm of 1e-14.")
    var newtonSteps = Count(20)
    @Option(name: .customLong("init-std"), parsing: .unconditional, help: "Initial weights and biases drawn from N(0, std²).") var initStd = 0.5
    @Option(help: "Seed of the initialisation.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/critical"

    static let logHeader = ["step", "loss", "gradient_norm"]

    func run() throws {
        // Every input is checked before the output folder exists.
        let trainingSet = set.resolved(fallback: TrainingSet(data: "fit1d", classSubset: nil, perClass: nil))!
        let data = try trainingSet.load()
        let lossFunction = try embeddingLoss(loss, for: data)
        let arch = try embeddingArchitecture(widths: widths, activation: activation, data: data)
        var settings = TrainingSettings()
        (settings.optimizer, settings.learningRate, settings.momentum, settings.steps, settings.loss) =
            (optimizer, learningRate, momentum, steps.value, lossFunction)
        settings.batchSize = data.count   // full batch
        do { try settings.validate(examples: data.count) } catch let error as NetworkError { throw ToolError(error.description) }
        guard gradientTolerance.isFinite && gradientTolerance >= 0 else {
            throw ToolError("--gradient-tolerance is \(gradientTolerance); give a number ≥ 0 (a gradient norm)")
        }
        guard (0...1000).contains(newtonSteps.value) else { throw ToolError("--newton-steps is \(newtonSteps.value); give 0 to 1000") }
        guard initStd.isFinite && initStd > 0 && initStd <= 1e3 else { throw ToolError("--init-std is \(initStd); give a number in (0, 1000]") }
        var memory = settings.memoryParts(architecture: arch, evalExamples: 0)
        memory.append(("a full batch's activations", 8 * 4 * Double(data.count) * arch.activationDoublesPerExample))
        if newtonSteps.value > 0 { memory += DenseHessian.memoryParts(architecture: arch, examples: data.count) }
        try Memory.require(memory, for: "full-batch training", remedy: "lower --widths, --per-class or --newton-steps (0 avoids the dense Hessian)")
        let batch = FullBatch(data: data, loss: lossFunction)
        let start = Network(architecture: arch, gaussianStandardDeviation: initStd, seed: seed)
        guard batch.value(start).isFinite else { throw ToolError("the initial weights give a non-finite loss; lower --init-std (\(initStd))") }

        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let clock = Date()
        let logSteps = Set(TrainingSettings.logSteps(steps.value, count: 200))
        var log = CriticalCommand.logHeader.joined(separator: ",") + "\n"
        let progress = Progress(total: steps.value, alreadyDone: 0, label: "critical")
        let trained = FullBatchTraining.train(start, batch: batch, settings: settings, tolerance: gradientTolerance) { step, l, g in
            if logSteps.contains(step) || g <= gradientTolerance { log += "\(step),\(formatNumber(l)),\(formatNumber(g))\n" }
            if step > 0 { progress.step(String(format: "loss %.4g, |g| %.3g", l, g)) }
        }
        progress.finish()
        guard !trained.diverged else {
            throw ToolError("training diverged at step \(trained.steps) (the loss or an update is not finite); lower --learning-rate (\(learningRate))")
        }
        var net = trained.network, norm = trained.gradientNorm, newton = 0
        if newtonSteps.value > 0 {
            (net, norm, newton) = try FullBatchTraining.newton(net, batch: batch, iterations: newtonSteps.value, tolerance: 1e-14)
        }
        let finalLoss = batch.value(net)
        let seconds = Date().timeIntervalSince(clock)
        var metadata = trainingSet.metadata
        metadata["loss"] = lossFunction.description
        metadata["train_loss"] = formatNumber(finalLoss)
        metadata["gradient_norm"] = formatNumber(norm)
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("critical-\(Invocation.id).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Checkpoint.write(net, metadata: metadata, to: url)
        try folder.write("critical.safetensors", Data(contentsOf: url))
        try folder.write("log.csv", Data(log.utf8))
        let summary = JSON.object([
            ("widths", .string(widths)), ("activation", .string(activation.rawValue)), ("loss", .string(lossFunction.name))]
            + trainingSet.manifest + [
            ("examples", .integer(data.count)), ("parameters", .integer(arch.parameterCount)),
            ("optimizer", .string(optimizer.rawValue)), ("learning_rate", .number(learningRate)), ("momentum", .number(momentum)),
            ("init_std", .number(initStd)), ("seed", .unsigned(seed)), ("gradient_tolerance", .number(gradientTolerance)),
            ("steps", .integer(trained.steps)), ("best_step", .integer(trained.step)),
            ("gradient_norm_trained", .number(trained.gradientNorm)), ("loss_trained", .number(trained.loss)),
            ("newton_steps", .integer(newton)), ("gradient_norm", .number(norm)), ("loss_final", .number(finalLoss)),
            ("seconds", .number(seconds))])
        try folder.write("summary.json", summary.data)
        try folder.commit()
        print(String(format: "critical: loss %.6g, gradient norm %.3g after %d steps (%.3g at step %d) and %d Newton steps (%.2f s)",
                     finalLoss, norm, trained.steps, trained.gradientNorm, trained.step, newton, seconds))
        print("wrote \(folder.url.path)/{critical.safetensors,summary.json,log.csv}")
    }
}

extension TrainingSettings {
    /// About `count` log-spaced steps from 0 to `steps`, for a log of a long run.
    static func logSteps(_ steps: Int, count: Int) -> [Int] {
        var s = TrainingSettings()
        s.steps = steps
        return s.checkpointSteps(count: count)
    }
}
