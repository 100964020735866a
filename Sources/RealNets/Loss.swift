import Foundation
import Landscape
import Linalg

/// The training loss on a network's outputs z (outputs × B), averaged over the B examples. One
/// value drives training (`Trainer`), exact gradients and Hessian-vector products (`Network`) and
/// the evaluation log, so every loss is differentiated by the same reverse/forward-over-reverse
/// code; a loss only supplies ℓ, ∂ℓ/∂z and the output Hessian ∂²ℓ/∂z² applied to a direction.
///
/// Labels are class indices 0…C−1. The binary losses (hinge, logistic) have one output f and
/// read class 1 as y = +1 and class 0 as y = −1. Mean squared error fits the one-hot label, or
/// real-valued `targets` (outputs × B) when a regression set supplies them.
public enum Loss: Sendable, Equatable, CustomStringConvertible {
    /// Softmax cross-entropy on C ≥ 2 logits.
    case crossEntropy
    /// Geiger et al.'s quadratic hinge on one output: Δ = ε − y·f, ℓ = ½ max(0, Δ)² (ε = `margin`).
    case quadraticHinge(margin: Double)
    /// Binary cross-entropy on one output: ℓ = log(1 + e^{−y·f}).
    case logistic
    /// ½‖z − t‖² per example, t the one-hot label or the given real-valued target.
    case meanSquared

    /// The names `--loss` accepts (the hinge's margin has its own flag).
    public static let names = ["cross-entropy", "hinge", "logistic", "mse"]

    /// The loss named `name` (one of `names`); the margin applies to the hinge only.
    public init?(name: String, margin: Double = 0.5) {
        switch name {
        case "cross-entropy": self = .crossEntropy
        case "hinge": self = .quadraticHinge(margin: margin)
        case "logistic": self = .logistic
        case "mse": self = .meanSquared
        default: return nil
        }
    }

    /// The loss's name as `--loss` takes it.
    public var name: String {
        switch self {
        case .crossEntropy: return "cross-entropy"
        case .quadraticHinge: return "hinge"
        case .logistic: return "logistic"
        case .meanSquared: return "mse"
        }
    }

    /// How checkpoints record the loss: the name, and for the hinge "hinge:ε" (shortest round-trip form).
    public var description: String {
        if case let .quadraticHinge(margin) = self { return "hinge:\(margin)" }
        return name
    }

    /// Reads `description` back (checkpoint metadata); nil if it is not a loss this tool writes.
    public init?(metadata value: String) {
        if value.hasPrefix("hinge:") {
            guard let margin = Double(value.dropFirst(6)), margin.isFinite, margin > 0 else { return nil }
            self = .quadraticHinge(margin: margin)
        } else if let loss = Loss(name: value), loss.name != "hinge" {
            self = loss
        } else {
            return nil
        }
    }

    /// Whether the loss has a single output and two classes.
    public var isBinary: Bool {
        switch self {
        case .quadraticHinge, .logistic: return true
        case .crossEntropy, .meanSquared: return false
        }
    }

    /// The number of network outputs the loss needs for a C-class task (1 for the binary losses).
    public func outputs(classes: Int) -> Int { isBinary ? 1 : classes }

    /// Why a C-class task cannot use this loss, or nil if it can.
    public func unsuitability(classes: Int) -> String? {
        if case let .quadraticHinge(margin) = self, !(margin.isFinite && margin > 0) {
            return "the hinge margin ε is \(margin); give a positive number (the paper uses 0.5)"
        }
        if isBinary && classes != 2 { return "the \(name) loss needs 2 classes (labels ±1) but the data has \(classes); keep two with --class-subset" }
        if !isBinary && classes < 2 { return "the \(name) loss needs at least 2 classes" }
        return nil
    }

    /// y = ±1 of a binary label (class 1 → +1, class 0 → −1).
    @inlinable public static func sign(ofLabel label: Int) -> Double { label == 1 ? 1 : -1 }

    /// The mean loss over the B columns of z, its gradient with respect to z (already divided by B)
    /// and the accuracy (argmax for C outputs, sign(f) = y for one output; NaN for real targets).
    public func evaluate(_ z: Matrix, labels: [Int], targets: Matrix? = nil) -> (loss: Double, gradient: Matrix, accuracy: Double) {
        let (c, b) = (z.rows, z.cols)
        precondition(labels.count == b || targets != nil, "one label per column of the outputs")
        switch self {
        case .crossEntropy:
            return Network.crossEntropy(z, labels: labels)
        case let .quadraticHinge(margin):
            precondition(c == 1, "the hinge loss acts on one output")
            var g = Matrix(rows: 1, cols: b)
            var loss = 0.0, correct = 0
            for e in 0..<b {
                let y = Loss.sign(ofLabel: labels[e]), delta = margin - y * z.storage[e]
                if delta > 0 { loss += 0.5 * delta * delta; g.storage[e] = -y * delta / Double(b) }
                if y * z.storage[e] > 0 { correct += 1 }
            }
            return (loss / Double(b), g, Double(correct) / Double(b))
        case .logistic:
            precondition(c == 1, "the logistic loss acts on one output")
            var g = Matrix(rows: 1, cols: b)
            var loss = 0.0, correct = 0
            for e in 0..<b {
                let yf = Loss.sign(ofLabel: labels[e]) * z.storage[e]
                loss += Loss.softplus(-yf)
                g.storage[e] = -Loss.sign(ofLabel: labels[e]) * Loss.sigmoid(-yf) / Double(b)
                if yf > 0 { correct += 1 }
            }
            return (loss / Double(b), g, Double(correct) / Double(b))
        case .meanSquared:
            let t = targets ?? Loss.oneHot(labels, classes: c)
            precondition(t.rows == c && t.cols == b, "targets must have the outputs' shape")
            var g = Matrix(rows: c, cols: b)
            var loss = 0.0
            for k in z.storage.indices {
                let r = z.storage[k] - t.storage[k]
                loss += 0.5 * r * r
                g.storage[k] = r / Double(b)
            }
            var accuracy = Double.nan
            if targets == nil {
                var correct = 0
                for e in 0..<b {
                    var best = 0
                    for k in 1..<max(c, 1) where z[k, e] > z[best, e] { best = k }
                    if best == labels[e] { correct += 1 }
                }
                accuracy = Double(correct) / Double(b)
            }
            return (loss / Double(b), g, accuracy)
        }
    }

    /// (1/B)·(∂²ℓ/∂z²)·r per column: the output part of the Hessian (and Gauss–Newton) product.
    /// Cross-entropy: P·r with P = diag(p) − ppᵀ; hinge: [Δ > 0]·r (y² = 1); logistic: σ(f)σ(−f)·r;
    /// mean squared error: r. The hinge's second derivative jumps at Δ = 0, where it is taken as 0
    /// (the pattern is satisfied), the convention under which H₀ counts only Δ > 0.
    /// r may carry b directions per example, stacked ((outputs·b) × B, column e holding the b
    /// directions' outputs one above the other, as `Network.Trace` lays out R-values): each is
    /// multiplied by example e's output Hessian.
    public func outputHessianTimes(_ z: Matrix, labels: [Int], _ r: Matrix) -> Matrix {
        let (c, b) = (z.rows, z.cols)
        precondition(r.cols == b && c > 0 && r.rows % c == 0, "directions must be (outputs·b) × B")
        let directions = r.rows / c
        switch self {
        case .crossEntropy:
            return Network.softmaxHessianTimes(z, r)
        case let .quadraticHinge(margin):
            var out = Matrix(rows: r.rows, cols: b)
            for e in 0..<b where margin - Loss.sign(ofLabel: labels[e]) * z.storage[e] > 0 {
                for j in 0..<directions { out.storage[e * directions + j] = r.storage[e * directions + j] / Double(b) }
            }
            return out
        case .logistic:
            var out = Matrix(rows: r.rows, cols: b)
            for e in 0..<b {
                let f = z.storage[e]
                for j in 0..<directions {
                    out.storage[e * directions + j] = Loss.sigmoid(f) * Loss.sigmoid(-f) * r.storage[e * directions + j] / Double(b)
                }
            }
            return out
        case .meanSquared:
            var out = r
            for k in out.storage.indices { out.storage[k] /= Double(b) }
            return out
        }
    }

    /// The one-hot matrix (classes × B) of the labels.
    public static func oneHot(_ labels: [Int], classes: Int) -> Matrix {
        var t = Matrix(rows: classes, cols: labels.count)
        for (e, y) in labels.enumerated() { t[y, e] = 1 }
        return t
    }

    /// log(1 + eˣ) without overflow.
    @inlinable static func softplus(_ x: Double) -> Double { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }
    /// 1/(1 + e⁻ˣ) without overflow.
    @inlinable static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
}

extension Checkpoint {
    /// The loss a checkpoint was trained with (its "loss" metadata; cross-entropy when absent, as
    /// in checkpoints written before the loss was recorded).
    public static func loss(_ metadata: [String: String], path: String) throws -> Loss {
        guard let value = metadata["loss"] else { return .crossEntropy }
        guard let loss = Loss(metadata: value) else {
            throw NetworkError.invalid("checkpoint \(path) names the loss \(value), which this tool does not know (\(Loss.names.joined(separator: ", ")), hinge:ε); the file is corrupt or from another tool")
        }
        return loss
    }
}
