import Foundation
import Linalg

/// Whether an observed value (a network's) is what the random model produces, judged against the
/// model's own spread: R seeds of the model give values x₁…x_R with mean x̄ and standard deviation
/// s, and a new draw of the model lies in x̄ ± t_{R−1}(1 − α/2)·s·√(1 + 1/R) with probability 1 − α
/// (the Student-t prediction interval). The observation agrees when it falls inside that interval,
/// widened by its own standard error when it is itself an estimate (σ_tot² = s²(1 + 1/R) + se²).
/// Nothing is judged against a fixed relative gap: a statistic the model pins down tightly must
/// match tightly, and a noisy one is given the room its noise takes.
public struct Agreement: Sendable {
    public enum Verdict: String, Sendable {
        case agree, differ
        /// Undefined values, or fewer than two model seeds.
        case undetermined = "n/a"
    }

    public let observed: Double
    public let observedStandardError: Double
    /// The model's value at each seed.
    public let modelValues: [Double]
    /// Coverage of the prediction interval, 1 − α.
    public let level: Double
    /// The smallest half-width: 1 for a count (outliers, an index), whose values step by one, so
    /// that five seeds that all gave 9 do not call a 10 "differ"; 0 for a continuous statistic.
    public let resolution: Double

    public init(observed: Double, observedStandardError: Double = 0, modelValues: [Double], level: Double = Agreement.defaultLevel,
                resolution: Double = 0) {
        (self.observed, self.observedStandardError, self.modelValues, self.level) = (observed, observedStandardError, modelValues, level)
        self.resolution = resolution
    }

    /// 99%: with a dozen statistics compared, a model that is right is called "differ" on about one
    /// row in ten tables by chance; the intervals are printed, so a reader sees how close a call was.
    public static let defaultLevel = 0.99

    public var modelMean: Double { modelValues.reduce(0, +) / Double(modelValues.count) }
    /// Standard deviation of the model over seeds.
    public var modelSpread: Double {
        guard modelValues.count > 1 else { return .nan }
        let m = modelMean
        return (modelValues.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(modelValues.count - 1)).squareRoot()
    }

    /// Half-width of the interval. A tiny relative floor (1e-9) keeps round-off from separating
    /// values that are equal by construction (e.g. the semi-empirical model's own probabilities).
    public var halfWidth: Double {
        let r = Double(modelValues.count)
        guard r >= 2 else { return .nan }
        let t = Distributions.studentTQuantile(1 - (1 - level) / 2, degrees: r - 1)
        let se = observedStandardError.isFinite ? observedStandardError : 0
        let spread = (modelSpread * modelSpread * (1 + 1 / r) + se * se).squareRoot()
        return max(t * spread, 1e-9 * max(abs(modelMean), abs(observed)), resolution)
    }

    public var verdict: Verdict {
        guard observed.isFinite, modelValues.count >= 2, modelValues.allSatisfy(\.isFinite) else { return .undetermined }
        return abs(observed - modelMean) <= halfWidth ? .agree : .differ
    }

    /// (observed − mean)/(half-width): inside the interval when |·| ≤ 1.
    public var standardisedGap: Double { (observed - modelMean) / halfWidth }
}
