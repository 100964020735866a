import Foundation
import Landscape
import Linalg

/// The random-matrix prediction for one configuration of the eq. 16 model, without sampling the
/// gradients: the bulk from the noise weights τ = σ_E²·λ_j(P^μ)/(D·N) over all examples and
/// softmax-Hessian eigenvalues, the spikes θ = σ_c²·eig(S·P̄·S) of the rank-(C−1) class-mean term
/// (S the class-mean length scales, since c·cᵀ → σ_c²S² as D → ∞), and the BBP outliers.
/// Conditional on the probabilities p, which are sampled from the configuration's logit stream.
public struct ModelTheory: Sendable {
    public let configuration: ModelConfiguration
    public let bulk: NoiseBulkTheory
    /// Spike eigenvalues θ, descending.
    public let spikes: [Double]
    /// Predicted outlier positions, descending (one per θ above the BBP threshold).
    public let outlierPositions: [Double]

    /// The predicted number of outliers.
    public var outliers: Int { outlierPositions.count }

    /// The theory at `config`; with `limitExamples` the τ distribution is represented by that many
    /// sampled examples at the same N/D ratio (the N, D → ∞ limit at fixed ratios).
    public init(_ config: ModelConfiguration, limitExamples: Int? = nil) throws {
        try config.validate()
        var sampled = config
        var dimension = Double(config.dimension)
        if let big = limitExamples, big > config.examples {
            dimension *= Double(big) / Double(config.examples)
            sampled.examples = big
        }
        let logits = DenseModel.sampleLogits(sampled)
        let (c, n) = (config.classes, sampled.examples)
        let sigmaE2 = config.sigmaE * config.sigmaE / dimension
        var weights: [Double] = []
        weights.reserveCapacity(n * c)
        for mu in 0..<n {
            let p = Array(logits.probabilities[(mu * c)..<((mu + 1) * c)])
            let pm = Matrix(rows: c, cols: c) { i, j in (i == j ? p[i] : 0) - p[i] * p[j] }
            for lambda in try Eigen.symmetric(pm, vectors: false).values where lambda > 0 {
                weights.append(sigmaE2 * lambda / Double(n))
            }
        }
        let scales = config.classLengthScales
        let pbar = DenseModel.meanSoftmaxHessian(logits)
        let spiked = Matrix(rows: c, cols: c) { i, j in config.sigmaC * config.sigmaC * scales[i] * pbar[i, j] * scales[j] }
        let theta = try Eigen.symmetric(spiked, vectors: false).values.filter { $0 > 0 }
        guard weights.contains(where: { $0 > 0 }) else {
            throw ModelError.invalid("at σ_z = \(config.sigmaZ) every probability is frozen to one-hot, so the bulk is empty and the theory undefined; use a smaller --sigma-z")
        }
        let noise = NoiseBulkTheory(weights: weights, dimension: dimension)
        configuration = config
        bulk = noise
        spikes = theta
        outlierPositions = theta.compactMap { noise.outlier(spike: $0) }
    }
}
