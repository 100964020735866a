import Foundation
import Landscape
import Linalg

/// Every statistic of one model configuration: what `fortganguli simulate` reports.
public struct ModelMeasurement: Sendable {
    public var configuration: ModelConfiguration
    public var probabilities: ProbabilityStatistics
    public var clustering: LogitGradientClustering
    /// The Hessian's spectrum, descending (all D eigenvalues).
    public var eigenvalues: [Double]
    /// cos²∠(g, u_i) for each eigenvector u_i, in the order of `eigenvalues`.
    public var gradientCosineSquared: [Double]
    public var outliers: OutlierCount
    /// Fraction of ‖g‖² in the top k eigenvectors (k = C unless set).
    public var gradientPowerTopK: Double
    public var traceOverNorm: TraceOverNorm
    /// Trace/‖·‖ of the Hessian restricted to a random d-dimensional hyperplane, QᵀHQ.
    public var hyperplaneTraceOverNorm: Double
    public var seconds: Double
}

public enum ModelSimulation {
    /// Samples the model at `config` and measures it on the dense reference path.
    public static func run(_ config: ModelConfiguration) throws -> ModelMeasurement {
        let start = DispatchTime.now().uptimeNanoseconds
        let model = try DenseModel(config)
        let noise = model.noiseHessian()
        let h = try model.hessian(noise: config.hessian == .paper ? noise : nil)
        var result = try measure(model: model, hessian: h, noise: noise)
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// Statistics of a sampled model given its Hessian and noise term (both D×D).
    static func measure(model: DenseModel, hessian h: Matrix, noise: Matrix) throws -> ModelMeasurement {
        let config = model.configuration
        let c = config.classes
        let eigen = try Eigen.symmetric(h, vectors: true)
        let noiseTop = try Eigen.symmetric(noise, vectors: false, largest: max(c, 2)).values
        let g = model.gradient()
        let projections = BLAS.multiply(eigen.vectors!, transpose: true, g)
        let cos2 = gradientCosineSquared(projections: projections, gradientNormSquared: BLAS.dot(g, g))
        let stream = RandomStream(seed: config.seed, stream: DenseModel.Stream.hyperplane.rawValue)
        let hyperplane = try hyperplaneTraceOverNorm(h, dimension: config.hyperplaneDimension, stream: stream)
        return ModelMeasurement(
            configuration: config,
            probabilities: ProbabilityStatistics(probabilities: model.logits.probabilities, classes: c),
            clustering: LogitGradientClustering(LogitGradientPairSums(
                jacobianColumns: model.jacobian, labels: model.logits.labels, classes: c)),
            eigenvalues: eigen.values,
            gradientCosineSquared: cos2,
            outliers: OutlierCount(eigenvalues: eigen.values, noiseTopEigenvalues: noiseTop, spikeRank: c),
            gradientPowerTopK: gradientPower(cosineSquared: cos2, top: config.gradientPowerK),
            traceOverNorm: TraceOverNorm(trace: h.trace, spectralNorm: eigen.values.map(abs).max() ?? 0),
            hyperplaneTraceOverNorm: hyperplane,
            seconds: 0)
    }

    /// Trace/‖·‖ of QᵀHQ for Q a uniformly random orthonormal D×d frame (QR of a Gaussian matrix),
    /// the Goldilocks-zone statistic seen by training confined to a random d-dimensional hyperplane.
    public static func hyperplaneTraceOverNorm(_ h: Matrix, dimension d: Int, stream: RandomStream) throws -> Double {
        let q = try Orthonormal.columns(stream.gaussianMatrix(rows: h.rows, cols: d))
        let projected = BLAS.multiply(q, transposeA: true, BLAS.multiply(h, q))
        let values = try Eigen.symmetric(projected, vectors: false).values
        return TraceOverNorm(eigenvalues: values).ratio
    }
}
