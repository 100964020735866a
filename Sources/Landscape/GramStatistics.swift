import Foundation
import Linalg

/// Every statistic that follows from a (K, p, y) source alone, computed by one code path for the
/// random model, a network checkpoint and imported files: the logit scale and accuracy, the
/// probability statistics, the logit-gradient clustering q^SLSC, q^SL, q^DL (eqs. 11–13), the
/// class-conditional moments (the calibration of the random model), and the G-term with Papyan's
/// class decomposition, bulk edge, outliers and the gradient's confinement.
public struct GramStatistics: Sendable {
    public let source: LogitGradientGram
    /// σ_z as the model defines it (`logitScale`).
    public let logitScale: Double
    public let accuracy: Double
    public let probabilities: ProbabilityStatistics
    public let clustering: LogitGradientClustering
    public let moments: ClassConditionalMoments
    public let structure: ClassStructure
    /// Mean length ‖J^μ_k‖ of the per-example, per-logit gradients.
    public let meanLogitGradientNorm: Double

    public init(_ source: LogitGradientGram) throws {
        let c = source.classes
        self.source = source
        logitScale = source.logitScale
        accuracy = source.accuracy
        probabilities = ProbabilityStatistics(probabilities: source.probabilities, classes: c)
        let pairSums = LogitGradientPairSums(gram: source.gram, labels: source.labels, classes: c)
        clustering = LogitGradientClustering(pairSums)
        moments = ClassConditionalMoments(source, pairSums: pairSums)
        structure = try ClassStructure(source)
        let size = source.examples * c
        meanLogitGradientNorm = (0..<size).reduce(0.0) { $0 + max(source.gram[$1, $1], 0).squareRoot() } / Double(size)
    }

    /// Fraction of ‖g‖² in the top k eigenvectors of G.
    public func gradientPower(top k: Int) -> Double {
        Landscape.gradientPower(cosineSquared: structure.gaussNewton.gradientCosineSquared, top: k)
    }

    /// Tr(G)/‖G‖ (G is PSD, so ‖G‖ = λ₁; Tr(G) exact from the Gram).
    public var gaussNewtonTraceOverNorm: Double {
        TraceOverNorm(trace: structure.trace, spectralNorm: structure.gaussNewton.eigenvalues.first ?? 0).ratio
    }
}
