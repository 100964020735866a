import Foundation
import Linalg

/// The interface every source of logit gradients meets — the random model, a network checkpoint,
/// or files written by another library: the per-example logit-Jacobian Gram K with the logits and
/// labels it belongs to.
///
/// K is (N·C)×(N·C) with index μ·C + k: K[μ·C + k, ν·C + l] = J^μ_k·J^ν_l, the inner product of the
/// gradients of logit k at example μ and logit l at example ν (an empirical neural tangent kernel).
/// Every Gram-derived statistic (G-term spectrum, gradient overlaps, q statistics, Papyan's class
/// decomposition, the calibration of the random model) is a function of this value alone, so model
/// and network are measured by the same code.
///
///     let source = try LogitGradientGram(gram: k, logits: z, labels: y, classes: 10)
///     let structure = try ClassStructure(source)
public struct LogitGradientGram: Sendable {
    /// (N·C)×(N·C), index μ·C + k.
    public let gram: Matrix
    /// N×C logits, row-major.
    public let logits: [Double]
    /// N×C softmax probabilities, row-major.
    public let probabilities: [Double]
    /// Labels 0…C−1.
    public let labels: [Int]
    public let classes: Int
    /// D, the number of parameters the gradients live in, if known (it sets no statistic of the
    /// Gram, but the random model calibrated on this source needs it).
    public let parameters: Int?

    public var examples: Int { labels.count }

    /// Examples of each class.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels { counts[y] += 1 }
        return counts
    }

    /// Checks the shapes and values and computes the probabilities. Throws a one-line
    /// `SourceError` for a Gram that is not (N·C)×(N·C), not symmetric or not finite, logits that
    /// are not finite, labels outside 0…C−1, or a class with fewer than two examples (the
    /// within-class statistics need two). A source that may leave a class thin by chance (the
    /// random model at small N) passes `minimumPerClass: 0`; the statistics then skip such classes.
    public init(gram: Matrix, logits: [Double], labels: [Int], classes: Int, parameters: Int? = nil, minimumPerClass: Int = 2) throws {
        try LogitGradientGram.validate(gram: gram, logits: logits, labels: labels, classes: classes, parameters: parameters,
                                       minimumPerClass: minimumPerClass)
        self.gram = gram
        self.logits = logits
        self.probabilities = softmaxRows(logits, classes: classes)
        self.labels = labels
        self.classes = classes
        self.parameters = parameters
    }

    /// Relative asymmetry max|K − Kᵀ| / max|K| above which a Gram is refused: a Gram computed in
    /// float64 is symmetric to round-off, one written in float32 to about 1e-7.
    public static let symmetryTolerance = 1e-6

    static func validate(gram k: Matrix, logits: [Double], labels: [Int], classes c: Int, parameters: Int?, minimumPerClass: Int) throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw SourceError.invalid(message()) }
        }
        try check(c >= 2, "the source has \(c) classes; at least 2 are needed")
        let n = labels.count
        try check(n >= 2, "the source has \(n) examples; at least 2 are needed")
        try check(logits.count == n * c,
                  "the logits hold \(logits.count) numbers but \(n) examples × \(c) classes need \(n * c)")
        let size = n.multipliedReportingOverflow(by: c)
        try check(!size.overflow && k.rows == size.partialValue && k.cols == size.partialValue,
                  "the Gram is \(k.rows)×\(k.cols) but \(n) examples × \(c) classes need \(n * c)×\(n * c) (index μ·C + k)")
        if let d = parameters { try check(d >= 1, "the parameter count is \(d); it must be at least 1") }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= c }) {
            throw SourceError.invalid("label \(labels[bad]) of example \(bad) is outside 0…\(c - 1)")
        }
        var counts = [Int](repeating: 0, count: c)
        for y in labels { counts[y] += 1 }
        if let thin = counts.firstIndex(where: { $0 < minimumPerClass }) {
            throw SourceError.invalid("class \(thin) has \(counts[thin]) example\(counts[thin] == 1 ? "" : "s"); every class needs at least \(minimumPerClass) for the within-class statistics")
        }
        try check(logits.allSatisfy(\.isFinite), "the logits contain non-finite numbers")
        var largest = 0.0, asymmetry = 0.0, finite = true, negativeDiagonal = false
        let m = k.rows
        k.storage.withUnsafeBufferPointer { p in
            for j in 0..<m {
                if p[j + j * m] < 0 { negativeDiagonal = true }
                for i in 0..<m {
                    let v = p[i + j * m]
                    if !v.isFinite { finite = false; return }
                    largest = max(largest, abs(v))
                    if i > j { asymmetry = max(asymmetry, abs(v - p[j + i * m])) }
                }
            }
        }
        try check(finite, "the Gram contains non-finite numbers")
        try check(asymmetry <= symmetryTolerance * largest,
                  String(format: "the Gram is not symmetric (max |K − Kᵀ| = %.3g against max |K| = %.3g)", asymmetry, largest))
        try check(!negativeDiagonal, "the Gram has a negative diagonal entry, so it is not a Gram of gradients")
    }
}

/// A source of logit gradients that cannot be used, with a message fit for one line of a terminal.
public enum SourceError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { if case let .invalid(m) = self { return m } else { return "" } }
}

extension LogitGradientGram {
    /// The logit scale as the random model defines σ_z: √(mean over examples of the unbiased
    /// variance of the C logits of an example). For i.i.d. N(0, σ_z²) logits its square is unbiased for σ_z².
    public var logitScale: Double { Landscape.logitScale(logits, classes: classes) }

    /// Fraction of examples whose largest logit is their label.
    public var accuracy: Double {
        var correct = 0
        for mu in 0..<examples {
            var best = 0
            for k in 1..<classes where logits[mu * classes + k] > logits[mu * classes + best] { best = k }
            if best == labels[mu] { correct += 1 }
        }
        return Double(correct) / Double(examples)
    }
}

/// √(mean over rows of the unbiased variance across the row) of an N×C row-major array: the
/// estimator of σ_z for i.i.d. N(0, σ_z²) logits, used for every source (model, network, files).
public func logitScale(_ z: [Double], classes c: Int) -> Double {
    precondition(c >= 2 && z.count % c == 0, "logits must be N×C with C ≥ 2")
    let n = z.count / c
    guard n > 0 else { return .nan }
    var total = 0.0
    for mu in 0..<n {
        let row = z[(mu * c)..<((mu + 1) * c)]
        let mean = row.reduce(0, +) / Double(c)
        total += row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c - 1)
    }
    return (total / Double(n)).squareRoot()
}

extension LogitGradientGram {
    /// Mean cross-entropy −log p^μ_{y_μ} over the examples, from the logits (log-sum-exp, stable).
    public var crossEntropy: Double {
        var total = 0.0
        for mu in 0..<examples {
            let row = logits[(mu * classes)..<((mu + 1) * classes)]
            let m = row.max()!
            total += m + log(row.reduce(0) { $0 + exp($1 - m) }) - logits[mu * classes + labels[mu]]
        }
        return total / Double(examples)
    }
}
