import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// The optimiser and batches of training in a random subspace, shared by `subspace-train` and `goldilocks --train`.
struct SubspaceTrainingOptions: ParsableArguments {
    @Option(help: "sgd (with momentum) or adam.") var optimizer = Optimizer.sgd
    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Step size.") var learningRate = 0.05
    @Option(parsing: .unconditional, help: "SGD momentum, or Adam's β₁.") var momentum = 0.9
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Mini-batch size.") var batchSize = Count(128)
    @Option(parsing: .unconditional, help: "Optimiser steps (469 steps of 128 are one epoch of Fashion-MNIST).") var steps = Count(469)
    @Option(name: .customLong("eval-examples"), parsing: .unconditional, help: "Train and test examples for the reported accuracies (at least 1).")
    var evalExamples = Count(2000)

    func settings(seed: UInt64) -> TrainingSettings {
        var s = TrainingSettings()
        (s.optimizer, s.learningRate, s.momentum) = (optimizer, learningRate, momentum)
        (s.batchSize, s.steps, s.seed) = (batchSize.value, steps.value, seed)
        return s
    }

    /// Every check that needs the training set, before any output exists.
    func check(examples: Int) throws {
        do { try settings(seed: 0).validate(examples: examples) } catch let error as NetworkError { throw ToolError(error.description) }
        guard evalExamples.value >= 1 && evalExamples.value <= 10_000_000 else {
            throw ToolError("--eval-examples is \(evalExamples.value); give 1 to 10000000")
        }
    }

    /// The first `--eval-examples` of the training and of the test split.
    func evaluationSets(train: Dataset, test: Dataset) -> (train: (Matrix, [Int]), test: (Matrix, [Int])) {
        (train.batch(Array(0..<min(evalExamples.value, train.labels.count))), test.batch(Array(0..<min(evalExamples.value, test.labels.count))))
    }

    var manifest: [(String, JSON)] {
        [("optimizer", .string(optimizer.rawValue)), ("learning_rate", .number(learningRate)), ("momentum", .number(momentum)),
         ("batch_size", .integer(batchSize.value)), ("steps", .integer(steps.value)), ("eval_examples", .integer(evalExamples.value))]
    }
}

/// A comma-separated list of subspace dimensions, each 1…`most` (a one-line error naming the flag).
func parseDimensions(_ text: String, flag: String, most: Int, why: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.compactMap { Count(argument: $0.trimmingCharacters(in: .whitespaces))?.value }
    guard !values.isEmpty, values.count == parts.count else {
        throw ToolError("\(flag) \(text) is not a comma-separated list of dimensions (e.g. 10,100)")
    }
    if let bad = values.first(where: { $0 < 1 || $0 > most }) {
        throw ToolError("\(flag) has dimension \(bad); give 1 to \(most) (\(why))")
    }
    return Array(Set(values)).sorted()
}

/// `fortganguli subspace-train`: train θ = θ₀ + Pφ with only φ ∈ R^d free (Li et al. 2018).
struct SubspaceTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subspace-train",
        abstract: "Train inside a random d-dimensional affine subspace θ₀ + Pφ (φ from 0); summary.json holds the train and test accuracy.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var archOptions: ArchitectureOptions
    @OptionGroup var training: SubspaceTrainingOptions
    @Option(parsing: .unconditional, help: "Dimension d of the subspace (1 to D).") var dimension: Count
    @Option(parsing: .unconditional, help: "Norm r of θ₀ (the standard initialisation rescaled); default: the standard initialisation's norm.")
    var radius: Double?
    @Option(help: "Seed of the initialisation, the projection P and the batch order.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/subspace-train"

    func validate() throws {
        if let r = radius, !(r.isFinite && r > 0 && r <= 1e6) { throw ToolError("--radius is \(r); give a norm in (0, 1e6]") }
        guard dimension.value >= 1 else { throw ToolError("--dimension is \(dimension.value); give at least 1") }
    }

    func run() throws {
        let train = try dataOptions.load(), test = try dataOptions.load(test: true)
        let arch = try archOptions.architecture(for: train)
        let d = arch.parameterCount
        guard dimension.value <= d else { throw ToolError("--dimension is \(dimension.value); give 1 to D = \(d) (the network's parameters)") }
        try training.check(examples: train.labels.count)
        let settings = training.settings(seed: seed)
        let evalCount = min(training.evalExamples.value, max(train.labels.count, test.labels.count))
        try Memory.require(settings.memoryParts(architecture: arch, evalExamples: evalCount)
                           + RandomProjection.memoryParts(parameters: d, dimension: dimension.value),
                           for: "subspace training", remedy: "lower --widths (or --channels and --hidden), --batch-size or --eval-examples")
        let standard = Network(architecture: arch, seed: seed)
        let r0 = BLAS.dot(standard.parameters, standard.parameters).squareRoot()
        let origin = try radius.map { try standard.rescaled(toNorm: $0) } ?? standard
        let (evalTrain, evalTest) = training.evaluationSets(train: train, test: test)
        guard Trainer.evaluate(origin, inputs: evalTrain.0, labels: evalTrain.1).loss.isFinite else {
            throw ToolError("the initial weights at --radius \(radius ?? r0) give a non-finite loss; lower --radius")
        }
        let folder = try OutputFolder(output)
        defer { folder.abandon() }
        let projection = try RandomProjection(parameters: d, dimension: dimension.value, seed: seed)
        let progress = Progress(total: settings.steps, alreadyDone: 0, label: "subspace-train")
        let result = try SubspaceTrainer.train(origin: origin, projection: projection, data: train, settings: settings) { _, loss in
            progress.step(String(format: "loss %.4f", loss))
        }
        progress.finish()
        let tr = Trainer.evaluate(result.network, inputs: evalTrain.0, labels: evalTrain.1)
        let te = Trainer.evaluate(result.network, inputs: evalTest.0, labels: evalTest.1)
        let summary = JSON.object([
            ("dimension", .integer(dimension.value)), ("radius", .number(radius ?? r0)), ("train_accuracy", .number(tr.accuracy)),
            ("test_accuracy", .number(te.accuracy)), ("steps", .integer(result.steps)), ("train_loss", .number(tr.loss)),
            ("test_loss", .number(te.loss)), ("parameters", .integer(d)), ("standard_init_radius", .number(r0)),
            ("diverged", .bool(result.steps < settings.steps)), ("projection_kept_in_memory", .bool(projection.isKept)),
            ("seed", .unsigned(seed)), ("steps_asked", .integer(settings.steps))] + ArchitectureOptions.manifest(arch) + dataOptions.manifest
            + training.manifest.filter { $0.0 != "steps" })
        try folder.write("summary.json", summary.data)
        try folder.commit()
        print(String(format: "subspace-train: d = %d of D = %d at r = %.4g: train accuracy %.4f, test accuracy %.4f after %d steps",
                     dimension.value, d, radius ?? r0, tr.accuracy, te.accuracy, result.steps))
    }
}
