import Foundation
import Linalg

/// How one jamming run is trained: full-batch Adam in float64 on the quadratic hinge, the learning
/// rate divided by 10 on a schedule fixed relative to the step budget, stopping as soon as every
/// pattern is satisfied (N_Δ = 0) or at the budget.
///
/// The schedule: the budget T is cut into `decays + 1` equal phases and the rate is divided by 10
/// at the start of each new phase, so the last phase runs at η₀·10^(−decays). Geiger et al. start
/// at 10⁻⁴ and divide by 10 every 250k of 2·10⁶ steps; short budgets on a CPU need a larger η₀
/// (default 10⁻²) and fewer decays (default 2: η₀ for the first third, η₀/10, then η₀/100).
public struct JammingSettings: Sendable, Equatable {
    /// ε in Δ = ε − y·f.
    public var margin = 0.5
    public var learningRate = 1e-2
    public var beta1 = 0.9
    public var beta2 = 0.999
    /// The step budget T.
    public var steps = 10_000
    /// How many times the learning rate is divided by 10 within the budget.
    public var decays = 2
    /// How many log-spaced steps of the run record (step, N_Δ, loss) in the history.
    public var historyPoints = 40

    public init() {}

    /// The learning rate of (0-based) step t: η₀·10^(−⌊t·(decays + 1)/T⌋).
    public func learningRate(atStep t: Int) -> Double {
        let phase = min(decays, Int((Double(t) * Double(decays + 1) / Double(steps)).rounded(.down)))
        return learningRate * pow(10, -Double(phase))
    }

    /// Steps 0…T at which the history is recorded: log-spaced, distinct, both ends included.
    public var historySteps: Set<Int> {
        var out: Set<Int> = [0, steps]
        let n = max(historyPoints, 2)
        for i in 0..<n { out.insert(Int(pow(Double(steps), Double(i) / Double(n - 1)).rounded())) }
        return out.filter { $0 <= steps }
    }

    /// The hinge loss these settings train.
    public var loss: Loss { .quadraticHinge(margin: margin) }

    /// Throws a one-line error naming the flag of the first unusable setting.
    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw NetworkError.invalid(m) } }
        try check(margin.isFinite && margin > 0, "--margin is \(margin); the hinge's ε must be a positive number (the paper uses 0.5)")
        try check(learningRate.isFinite && learningRate > 0 && learningRate <= 10, "--learning-rate is \(learningRate); give a number in (0, 10]")
        try check(beta1.isFinite && beta1 >= 0 && beta1 < 1, "Adam's β₁ is \(beta1); it must lie in [0, 1)")
        try check(beta2.isFinite && beta2 >= 0 && beta2 < 1, "Adam's β₂ is \(beta2); it must lie in [0, 1)")
        try check(steps >= 1 && steps <= TrainingSettings.maximumSteps,
                  "--steps is \(steps); give a step budget of 1 to \(TrainingSettings.maximumSteps)")
        try check(decays >= 0 && decays <= 20, "--decays is \(decays); give 0 to 20 divisions of the learning rate by 10")
        try check(historyPoints >= 2 && historyPoints <= 10_000, "the history needs 2 to 10000 points, not \(historyPoints)")
    }

    /// Adam as `Trainer.update` runs it, at learning rate η.
    func adam(_ eta: Double) -> TrainingSettings {
        var s = TrainingSettings()
        s.optimizer = .adam
        (s.learningRate, s.momentum, s.beta2, s.loss) = (eta, beta1, beta2, loss)
        return s
    }
}

/// The state of a network on a jamming training set: every overlap Δ_μ = ε − y_μ f(x_μ) and what
/// follows from them.
public struct JammingFit: Sendable, Equatable {
    /// Δ_μ, one per pattern, in the data set's order.
    public let deltas: [Double]
    /// L = (1/P) Σ ½ max(0, Δ)².
    public let loss: Double
    /// N_Δ = #{Δ > 0}, the unsatisfied patterns.
    public let unsatisfied: Int
    /// #{y·f ≤ 0}: misclassified patterns (an unsatisfied pattern with 0 < Δ < ε is still classified right).
    public let misclassified: Int

    /// Δ and its statistics from the network's outputs f (one per pattern) and the labels.
    public init(outputs f: [Double], labels: [Int], margin: Double) {
        precondition(f.count == labels.count, "one output per label")
        var deltas = [Double](repeating: 0, count: f.count)
        var loss = 0.0, unsatisfied = 0, misclassified = 0
        for mu in f.indices {
            let y = Loss.sign(ofLabel: labels[mu])
            let delta = margin - y * f[mu]
            deltas[mu] = delta
            if delta > 0 { loss += 0.5 * delta * delta; unsatisfied += 1 }
            if y * f[mu] <= 0 { misclassified += 1 }
        }
        self.deltas = deltas
        self.loss = f.isEmpty ? 0 : loss / Double(f.count)
        self.unsatisfied = unsatisfied
        self.misclassified = misclassified
    }

    /// The fit of `network` on `data` (one forward pass over all patterns).
    public init(network: Network, data: Dataset, margin: Double) {
        precondition(network.architecture.classes == 1, "the hinge acts on one output")
        self.init(outputs: network.logits(data.inputs).storage, labels: data.labels, margin: margin)
    }

    /// The indices of the unsatisfied patterns (Δ > 0).
    public var unsatisfiedIndices: [Int] { deltas.indices.filter { deltas[$0] > 0 } }
}

/// The result of one jamming run.
public struct JammingOutcome: Sendable {
    /// The final network (the last finite parameters if the run diverged).
    public var network: Network
    /// Optimiser steps taken: the step at which N_Δ reached 0, or the budget.
    public var steps: Int
    /// Δ, loss, N_Δ and misclassified patterns of the final network.
    public var fit: JammingFit
    /// Whether every pattern is satisfied (N_Δ = 0).
    public var fitted: Bool { fit.unsatisfied == 0 }
    /// Whether a non-finite loss or update stopped the run early.
    public var diverged: Bool
    /// (step, N_Δ, loss) at the settings' log-spaced history steps reached, and at the last step.
    public var history: [(step: Int, unsatisfied: Int, loss: Double)]
}

public enum JammingTrainer {
    /// Trains `network` on all of `data` at once (full batch) with the settings' Adam schedule.
    /// N_Δ is known at every step from the same forward pass as the gradient, so the run stops at
    /// the first step where N_Δ = 0 (the loss and its gradient are then exactly zero). Deterministic:
    /// the same network, data and settings give the same outcome bit for bit (at a fixed BLAS
    /// thread count).
    public static func train(_ network: Network, data: Dataset, settings s: JammingSettings,
                             progress: ((Int, Int) -> Void)? = nil) -> JammingOutcome {
        precondition(network.architecture.classes == 1, "the hinge acts on one output")
        var net = network
        var state = OptimizerState(parameters: net.parameters.count)
        var history: [(step: Int, unsatisfied: Int, loss: Double)] = []
        let record = s.historySteps
        let x = data.inputs, labels = data.labels, loss = s.loss
        for t in 0...s.steps {
            let trace = net.forward(x)
            let fit = JammingFit(outputs: trace.output.storage, labels: labels, margin: s.margin)
            let finite = fit.loss.isFinite
            if record.contains(t) || fit.unsatisfied == 0 || t == s.steps || !finite {
                history.append((t, fit.unsatisfied, fit.loss))
            }
            guard finite else { break }
            if fit.unsatisfied == 0 || t == s.steps {
                return JammingOutcome(network: net, steps: t, fit: fit, diverged: false, history: history)
            }
            let (_, g, _) = loss.evaluate(trace.output, labels: labels)
            let gradient = net.backward(trace, outputGradient: g).gradient
            guard gradient.allSatisfy(\.isFinite) else { break }
            let delta = Trainer.update(gradient: gradient, state: &state, settings: s.adam(s.learningRate(atStep: t)))
            var next = net
            for i in delta.indices { next.parameters[i] += delta[i] }
            guard next.parameters.allSatisfy(\.isFinite) else { break }
            net = next
            progress?(t + 1, fit.unsatisfied)
        }
        // Diverged: the last finite parameters.
        let fit = JammingFit(network: net, data: data, margin: s.margin)
        return JammingOutcome(network: net, steps: state.step, fit: fit, diverged: true, history: history)
    }
}
