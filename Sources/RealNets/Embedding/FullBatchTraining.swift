import Foundation
import Linalg

/// A fixed training set seen whole at every step (full-batch training): inputs (features × N), labels,
/// optional real-valued targets (a regression set) and the loss.
public struct FullBatch: Sendable {
    public let inputs: Matrix
    public let labels: [Int]
    public let targets: Matrix?
    public let loss: Loss

    public init(inputs: Matrix, labels: [Int], targets: Matrix? = nil, loss: Loss) {
        (self.inputs, self.labels, self.targets, self.loss) = (inputs, labels, targets, loss)
    }

    /// All of `data`, with its targets if it is a regression set.
    public init(data: Dataset, loss: Loss) {
        self.init(inputs: data.inputs, labels: data.labels, targets: data.targets, loss: loss)
    }

    /// The mean loss and its gradient.
    public func lossAndGradient(_ net: Network) -> (loss: Double, gradient: [Double]) {
        let (l, g, _) = net.lossAndGradient(inputs, labels: labels, loss: loss, targets: targets)
        return (l, g)
    }

    /// The mean loss alone.
    public func value(_ net: Network) -> Double { loss.evaluate(net.logits(inputs), labels: labels, targets: targets).loss }

    /// The Euclidean norm of the gradient of the mean loss, the criterion of a critical point.
    public func gradientNorm(_ net: Network) -> Double {
        let g = lossAndGradient(net).gradient
        return BLAS.dot(g, g).squareRoot()
    }

    /// The dense Hessian of the mean loss.
    public func hessian(_ net: Network) -> DenseHessian {
        DenseHessian(network: net, inputs: inputs, labels: labels, loss: loss, targets: targets)
    }
}

extension Network {
    /// Every weight and bias drawn from N(0, std²), the initialisation of Zhang et al.'s experiments
    /// ("small initialisation" when std is small: the network starts near the origin, a critical
    /// point of every width, and condenses as it leaves it).
    public init(architecture: Architecture, gaussianStandardDeviation std: Double, seed: UInt64) {
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        RandomStream(seed: seed, stream: 13).fillGaussian(&theta)
        for i in theta.indices { theta[i] *= std }
        self.init(architecture: architecture, parameters: theta)
    }
}

/// Full-batch training to a critical point: gradient descent (SGD settings with any momentum) or Adam
/// on the whole set (`Trainer.update`, the same updates as mini-batch training), stopped when the
/// gradient norm falls below a tolerance, then optionally refined by Newton's method.
public enum FullBatchTraining {
    /// One optimiser step on the full batch; returns the loss and gradient norm *before* the step,
    /// or NaN (leaving network and state unchanged) if they or the update are not finite.
    public static func step(_ net: inout Network, state: inout OptimizerState, batch: FullBatch,
                            settings: TrainingSettings) -> (loss: Double, gradientNorm: Double) {
        let (loss, g) = batch.lossAndGradient(net)
        let norm = BLAS.dot(g, g).squareRoot()
        guard loss.isFinite, norm.isFinite else { return (.nan, .nan) }
        var trial = state
        let delta = Trainer.update(gradient: g, state: &trial, settings: settings)
        var next = net.parameters
        for i in delta.indices { next[i] += delta[i] }
        guard next.allSatisfy(\.isFinite) else { return (.nan, .nan) }
        net.parameters = next
        state = trial
        return (loss, norm)
    }

    /// What `train` reached.
    public struct Result: Sendable {
        /// The point of smallest gradient norm seen (the paper's empirical critical point), its loss and gradient norm.
        public var network: Network
        public var loss: Double
        public var gradientNorm: Double
        /// The step at which that point was reached, and the steps taken.
        public var step: Int
        public var steps: Int
        /// Whether training stopped because the loss or an update was not finite.
        public var diverged: Bool
    }

    /// Runs the optimiser for up to `settings.steps` steps from `net`, stopping as soon as the gradient
    /// norm is at most `tolerance`; returns the point of smallest gradient norm seen. `progress`
    /// receives (step, loss, gradient norm) before each step.
    public static func train(_ net: Network, batch: FullBatch, settings: TrainingSettings, tolerance: Double,
                             progress: ((Int, Double, Double) -> Void)? = nil) -> Result {
        var current = net
        var state = OptimizerState(parameters: net.parameters.count)
        var best = Result(network: net, loss: .nan, gradientNorm: .infinity, step: 0, steps: 0, diverged: false)
        for s in 0...settings.steps {
            let (loss, g) = batch.lossAndGradient(current)
            let norm = BLAS.dot(g, g).squareRoot()
            best.steps = s
            guard loss.isFinite, norm.isFinite else { best.diverged = true; return best }
            progress?(s, loss, norm)
            if norm < best.gradientNorm { (best.network, best.loss, best.gradientNorm, best.step) = (current, loss, norm, s) }
            if norm <= tolerance || s == settings.steps { break }
            let delta = Trainer.update(gradient: g, state: &state, settings: settings)
            for i in delta.indices { current.parameters[i] += delta[i] }
            guard current.parameters.allSatisfy(\.isFinite) else { best.diverged = true; return best }
        }
        return best
    }

    /// Newton's method on the gradient: θ ← θ − t·H⁺g, H⁺ the pseudo-inverse over eigenvalues above
    /// the relative threshold of `InertiaCounts` (null directions are not stepped along), t halved
    /// from 1 until the gradient norm falls (at most 20 halvings; no step if none does). It converges
    /// quadratically to the critical point near a trained one — minimum or saddle alike — so a point
    /// that gradient descent leaves at a gradient norm of 1e-6 is refined to round-off. Returns the
    /// refined network, its gradient norm and the iterations that made progress.
    public static func newton(_ net: Network, batch: FullBatch, iterations: Int, tolerance: Double = 0) throws
        -> (network: Network, gradientNorm: Double, iterations: Int) {
        var current = net
        var (_, g) = batch.lossAndGradient(current)
        var norm = BLAS.dot(g, g).squareRoot()
        var done = 0
        while done < iterations && norm > tolerance {
            let eigen = try Eigen.symmetric(batch.hessian(current).matrix, vectors: true)
            let top = eigen.values.reduce(0) { max($0, abs($1)) }
            let vectors = eigen.vectors!
            let d = g.count
            var direction = [Double](repeating: 0, count: d)
            for (k, lambda) in eigen.values.enumerated() where abs(lambda) > InertiaCounts.defaultRelativeThreshold * top {
                let u = Array(vectors.storage[(k * d)..<((k + 1) * d)])
                let c = BLAS.dot(u, g) / lambda
                for i in 0..<d { direction[i] += c * u[i] }
            }
            var accepted = false
            var t = 1.0
            for _ in 0..<20 {
                var trial = current
                for i in 0..<d { trial.parameters[i] -= t * direction[i] }
                let (l, gt) = batch.lossAndGradient(trial)
                let n = BLAS.dot(gt, gt).squareRoot()
                if l.isFinite && n < norm {
                    (current, g, norm, accepted) = (trial, gt, n, true)
                    break
                }
                t /= 2
            }
            guard accepted else { break }
            done += 1
        }
        return (current, norm, done)
    }
}
