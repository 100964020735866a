import Foundation
import Linalg

/// Optimisers for mini-batch training on the mean loss.
public enum Optimizer: String, Codable, Sendable, CaseIterable { case sgd, adam }

/// Settings of a training run. Batches are drawn from a permutation of the training set per epoch,
/// seeded by (seed, epoch), so a run is reproducible and can resume from any checkpoint.
public struct TrainingSettings: Sendable, Equatable {
    public var optimizer = Optimizer.sgd
    public var learningRate = 0.05
    public var momentum = 0.9
    public var beta2 = 0.999
    public var batchSize = 128
    public var steps = 2000
    public var seed: UInt64 = 0
    /// The loss minimised (and logged).
    public var loss = Loss.crossEntropy
    public init() {}

    /// Log-spaced checkpoint steps from 0 to `steps` inclusive (about `count` of them, distinct).
    public func checkpointSteps(count: Int) -> [Int] {
        guard steps > 0 else { return [0] }
        let count = min(count, steps + 1)
        var s: Set<Int> = [0, steps]
        if count > 2 {
            for i in 0..<(count - 1) { s.insert(Int(pow(Double(steps), Double(i) / Double(count - 2)).rounded())) }
        }
        return s.filter { $0 <= steps }.sorted()
    }

    public func validate(examples: Int) throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw NetworkError.invalid(m) } }
        try check(learningRate.isFinite && learningRate > 0, "--learning-rate is \(learningRate); give a positive number")
        try check(momentum.isFinite && momentum >= 0 && momentum < 1, "--momentum is \(momentum); it must lie in [0, 1)")
        try check(batchSize >= 1 && batchSize <= examples, "--batch-size is \(batchSize); it must lie in [1, \(examples)] (the training set size)")
        try check(steps >= 1 && steps <= TrainingSettings.maximumSteps,
                  "--steps is \(steps); give 1 to \(TrainingSettings.maximumSteps)")
    }

    /// Steps beyond this would take years and bring `Int(pow(steps, …))` near overflow.
    public static let maximumSteps = 1_000_000_000
    /// Checkpoint files one run may write.
    public static let maximumCheckpoints = 10_000

    /// A checkpoint count is at least 2 (step 0 and the last) and at most one per step (steps + 1).
    public func validate(checkpoints count: Int) throws {
        let most = min(steps + 1, TrainingSettings.maximumCheckpoints)
        guard count >= 2 && count <= most else {
            throw NetworkError.invalid("--checkpoints is \(count); give 2 to \(most) (step 0, the last step and at most one per step of --steps \(steps))")
        }
    }

    /// The memory training needs besides the data (bytes by part): parameters, gradient, optimiser
    /// state, their saved copies and checkpoint buffers; a mini-batch's activations; the evaluation
    /// chunks and the evaluation examples (`evalExamples` of the train and of the test split).
    public func memoryParts(architecture a: Architecture, evalExamples: Int) -> [(String, Double)] {
        let d = Double(a.parameterCount), act = a.activationDoublesPerExample
        return [("parameters, gradient, optimiser state and checkpoint buffers", 8 * 14 * d),
                ("activations of a batch", 8 * 2 * Double(batchSize) * act),
                ("evaluation", 8 * Double(min(evalExamples, 1000)) * act + 8 * 2 * Double(evalExamples) * Double(a.inputs))]
    }
}

/// The optimiser's state (momentum / Adam moments), saved beside each checkpoint so a run resumes exactly.
public struct OptimizerState: Sendable {
    public var step: Int
    public var first: [Double]
    public var second: [Double]
    public init(parameters: Int) { step = 0; first = .init(repeating: 0, count: parameters); second = .init(repeating: 0, count: parameters) }
}

public enum Trainer {
    /// The order of the examples in `epoch`: a Fisher–Yates shuffle seeded by (seed, epoch).
    public static func permutation(epoch: Int, examples n: Int, settings: TrainingSettings) -> [Int] {
        var order = Array(0..<n)
        let rng = RandomStream(seed: settings.seed, stream: 1000 + UInt64(epoch))
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.uniformInt(i + 1)) }
        return order
    }

    /// Which epoch and which slice of its permutation mini-batch `step` (0-based) uses; the
    /// incomplete last slice of an epoch is skipped.
    public static func slot(step: Int, examples n: Int, settings: TrainingSettings) -> (epoch: Int, range: Range<Int>) {
        let perEpoch = max(1, n / settings.batchSize)
        let slot = step % perEpoch
        return (step / perEpoch, (slot * settings.batchSize)..<((slot + 1) * settings.batchSize))
    }

    /// One optimiser step on a batch; returns the batch loss, or NaN if the loss, the gradient or
    /// the updated parameters are not finite (the network and state are then left unchanged).
    public static func step(_ net: inout Network, state: inout OptimizerState, x: Matrix, labels: [Int],
                            settings s: TrainingSettings) -> Double {
        let (loss, g, _) = net.lossAndGradient(x, labels: labels, loss: s.loss)
        guard loss.isFinite, g.allSatisfy(\.isFinite) else { return .nan }
        let (savedNet, savedState) = (net, state)
        defer { if !net.parameters.allSatisfy(\.isFinite) { (net, state) = (savedNet, savedState) } }
        let delta = update(gradient: g, state: &state, settings: s)
        for i in delta.indices { net.parameters[i] += delta[i] }
        return net.parameters.allSatisfy(\.isFinite) ? loss : .nan
    }

    /// The optimiser's update Δ for gradient g (to be added to the parameters: θ ← θ + Δ), advancing
    /// its state. SGD with momentum: m ← μm + g, Δ = −η·m; Adam: bias-corrected moments,
    /// Δ = −η·m̂/(√v̂ + 1e-8). Δ is the negated step, so θ + Δ is bit for bit θ − step; training in a
    /// subspace (`SubspaceTrainer`) uses the same update on φ.
    public static func update(gradient g: [Double], state: inout OptimizerState, settings s: TrainingSettings) -> [Double] {
        precondition(g.count == state.first.count, "gradient and optimiser state differ in length")
        var delta = [Double](repeating: 0, count: g.count)
        state.step += 1
        switch s.optimizer {
        case .sgd:
            for i in g.indices {
                state.first[i] = s.momentum * state.first[i] + g[i]
                delta[i] = -(s.learningRate * state.first[i])
            }
        case .adam:
            let (b1, b2) = (s.momentum, s.beta2)
            let c1 = 1 - pow(b1, Double(state.step)), c2 = 1 - pow(b2, Double(state.step))
            for i in g.indices {
                state.first[i] = b1 * state.first[i] + (1 - b1) * g[i]
                state.second[i] = b2 * state.second[i] + (1 - b2) * g[i] * g[i]
                delta[i] = -(s.learningRate * (state.first[i] / c1) / ((state.second[i] / c2).squareRoot() + 1e-8))
            }
        }
        return delta
    }

    /// Trains `net` in the full space for `settings.steps` mini-batch steps (batches exactly as the
    /// `train` command draws them). Stops early at the first step whose loss, gradient or update is
    /// not finite, leaving the last good parameters; returns the steps completed and the last batch loss.
    @discardableResult
    public static func run(_ net: inout Network, data: Dataset, settings: TrainingSettings,
                           progress: ((Int, Double) -> Void)? = nil) -> (steps: Int, loss: Double) {
        var state = OptimizerState(parameters: net.parameters.count)
        var epochOrder: (epoch: Int, order: [Int]) = (-1, [])
        var loss = Double.nan
        for step in 0..<settings.steps {
            let (epoch, range) = slot(step: step, examples: data.labels.count, settings: settings)
            if epoch != epochOrder.epoch { epochOrder = (epoch, permutation(epoch: epoch, examples: data.labels.count, settings: settings)) }
            let (x, y) = data.batch(Array(epochOrder.order[range]))
            let l = Trainer.step(&net, state: &state, x: x, labels: y, settings: settings)
            guard l.isFinite else { return (step, loss) }
            loss = l
            progress?(step + 1, l)
        }
        return (settings.steps, loss)
    }

    /// Mean loss (cross-entropy unless told) and accuracy over a data set, in chunks.
    public static func evaluate(_ net: Network, inputs x: Matrix, labels: [Int], loss lossFunction: Loss = .crossEntropy,
                                chunk: Int = 1000) -> (loss: Double, accuracy: Double) {
        var loss = 0.0, correct = 0.0
        var start = 0
        while start < labels.count {
            let end = min(labels.count, start + chunk)
            let xb = Matrix(rows: x.rows, cols: end - start, storage: Array(x.storage[(start * x.rows)..<(end * x.rows)]))
            let z = net.logits(xb)
            let (l, _, a) = lossFunction.evaluate(z, labels: Array(labels[start..<end]))
            loss += l * Double(end - start)
            correct += a * Double(end - start)
            start = end
        }
        return (loss / Double(labels.count), correct / Double(labels.count))
    }
}
