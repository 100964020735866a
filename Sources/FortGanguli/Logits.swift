import Landscape
import Linalg

/// REM-style logits, their softmax probabilities and labels drawn at a target accuracy.
public struct LogitSample: Sendable {
    public let classes: Int
    /// N×C logits, row-major, z ~ N(0, σ_z²) i.i.d. (Derrida's random energy model).
    public let logits: [Double]
    /// N×C softmax probabilities, row-major.
    public let probabilities: [Double]
    /// Labels 0…C−1: the argmax class with probability `accuracy`, otherwise a uniformly chosen other class.
    public let labels: [Int]

    public var examples: Int { labels.count }

    /// Draws logits from `logitStream` and labels from `labelStream`.
    public init(examples n: Int, classes c: Int, sigmaZ: Double, accuracy: Double,
                logitStream: RandomStream, labelStream: RandomStream) {
        var z = [Double](repeating: 0, count: n * c)
        logitStream.fillGaussian(&z)
        for i in z.indices { z[i] *= sigmaZ }
        self.init(logits: z, classes: c, accuracy: accuracy, labelStream: labelStream)
    }

    /// Given logits and labels (a network's), row-major N×C.
    public init(logits z: [Double], labels: [Int], classes c: Int) {
        classes = c
        logits = z
        probabilities = softmaxRows(z, classes: c)
        self.labels = labels
    }

    /// Labels given logits (used by tests and by calibrations that bring their own logits).
    public init(logits z: [Double], classes c: Int, accuracy: Double, labelStream: RandomStream) {
        classes = c
        logits = z
        let p = softmaxRows(z, classes: c)
        probabilities = p
        let n = z.count / c
        var y = [Int](repeating: 0, count: n)
        for mu in 0..<n {
            var best = 0
            for k in 1..<c where p[mu * c + k] > p[mu * c + best] { best = k }
            if labelStream.uniform() < accuracy {
                y[mu] = best
            } else {
                let other = labelStream.uniformInt(c - 1)
                y[mu] = other < best ? other : other + 1
            }
        }
        labels = y
    }

    /// Residual y^μ − p^μ, the logit gradient of the loss with a minus sign (eq. 6), row-major N×C.
    public var residuals: [Double] {
        var r = probabilities.map { -$0 }
        for mu in 0..<examples { r[mu * classes + labels[mu]] += 1 }
        return r
    }
}
