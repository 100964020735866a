import FortGanguli
import Foundation
import Landscape

/// The random models set beside a source, each calibrated on the source's (K, p, y) alone.
public enum ModelKind: String, CaseIterable, Sendable {
    /// Fort–Ganguli's model as the paper calibrates it: σ_d = σ_s = 0, c_k the mean of J^μ_k over
    /// all examples, σ_E from the residuals around it, so the gradient energy matches.
    case fortGanguli = "fort-ganguli"
    /// The class-conditional model (c_k + d_{k,y} + s_k[y = k] + e), every σ moment-matched.
    case classConditional = "class-conditional"
    /// The class-conditional model's gradients with the source's own probabilities and labels:
    /// whatever it gets wrong is in the gradients, not in the logits.
    case semiEmpirical = "semi-empirical"

    public var title: String {
        switch self {
        case .fortGanguli: return "FG model"
        case .classConditional: return "class-conditional model"
        case .semiEmpirical: return "semi-empirical"
        }
    }
}

/// A model configuration calibrated on a source, and the logits it keeps (the semi-empirical model's).
public struct Calibration: Sendable {
    public let kind: ModelKind
    public let configuration: ModelConfiguration
    /// The source's own logits and labels (semi-empirical model only).
    public let logits: LogitSample?

    /// Calibrates `kind` on the Gram statistics of a source with `parameters` = D:
    /// N, C and D as the source; σ_z its logit scale and the accuracy its own; the gradient σ's and
    /// the relative class-mean lengths from `ClassConditionalMoments`; the G-term Hessian (eq. 10),
    /// which is what the source's Gram measures.
    public init(_ kind: ModelKind, on g: GramStatistics, parameters: Int, seed: UInt64, topK: Int, hyperplanes: Int = 1,
                hyperplaneDimension: Int = 10) {
        let m = g.moments, source = g.source
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension) = (source.examples, source.classes, parameters)
        (c.sigmaZ, c.accuracy) = (g.logitScale, g.accuracy)
        switch kind {
        case .fortGanguli:
            (c.sigmaC, c.sigmaD, c.sigmaS, c.sigmaE) = (m.paperSigmaC, 0, 0, m.paperSigmaE)
            c.classLengths = m.paperLengths
        case .classConditional, .semiEmpirical:
            (c.sigmaC, c.sigmaD, c.sigmaS, c.sigmaE) = (m.sigmaC, m.sigmaD, m.sigmaS, m.sigmaE)
            c.classLengths = m.lengths
        }
        (c.hessian, c.mode, c.seed, c.topK) = (.full, .auto, seed, topK)
        (c.hyperplanes, c.hyperplaneDimension) = (hyperplanes, min(hyperplaneDimension, parameters))
        self.kind = kind
        configuration = c
        logits = kind == .semiEmpirical ? LogitSample(logits: source.logits, labels: source.labels, classes: source.classes) : nil
    }
}
