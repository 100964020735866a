import Foundation

/// Statistics of predicted class probabilities: how confident (mean max probability) and how
/// frozen (mean entropy in bits; log₂C when uniform, 0 when one-hot) the softmax outputs are.
public struct ProbabilityStatistics: Equatable, Sendable {
    public var meanMaxProbability: Double
    public var meanEntropyBits: Double

    /// `probabilities` holds one row of C probabilities per example (N×C, row-major).
    public init(probabilities p: [Double], classes: Int) {
        precondition(classes > 0 && p.count % classes == 0, "probabilities must be N×C")
        let n = p.count / classes
        var maxSum = 0.0, entropySum = 0.0
        for mu in 0..<n {
            var m = 0.0, h = 0.0
            for k in 0..<classes {
                let q = p[mu * classes + k]
                m = max(m, q)
                if q > 0 { h -= q * log2(q) }
            }
            maxSum += m
            entropySum += h
        }
        meanMaxProbability = n > 0 ? maxSum / Double(n) : .nan
        meanEntropyBits = n > 0 ? entropySum / Double(n) : .nan
    }
}

/// Numerically stable softmax of each row of an N×C row-major logit array: the row maximum is
/// subtracted before exponentiation, so any finite logits give finite probabilities summing to 1.
public func softmaxRows(_ z: [Double], classes: Int) -> [Double] {
    precondition(classes > 0 && z.count % classes == 0, "logits must be N×C")
    var p = [Double](repeating: 0, count: z.count)
    for start in stride(from: 0, to: z.count, by: classes) {
        var m = -Double.infinity
        for k in 0..<classes { m = max(m, z[start + k]) }
        var s = 0.0
        for k in 0..<classes {
            let e = exp(z[start + k] - m)
            p[start + k] = e
            s += e
        }
        for k in 0..<classes { p[start + k] /= s }
    }
    return p
}
