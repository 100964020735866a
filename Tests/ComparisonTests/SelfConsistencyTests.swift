import Comparison
import FortGanguli
import Foundation
import Landscape
import Linalg
import XCTest

/// The comparison fed the model's own output: a class-conditional model with known σ's, measured
/// through the same Gram path as a network, must give back its parameters within sampling error,
/// and every verdict of the class-conditional and semi-empirical models must be "agree".
final class SelfConsistencyTests: XCTestCase {
    static func truth(seed: UInt64) -> ModelConfiguration {
        var c = ModelConfiguration()
        (c.examples, c.classes, c.dimension) = (100, 5, 1_000_000)
        (c.sigmaZ, c.accuracy) = (3.0, 0.8)
        (c.sigmaC, c.sigmaD, c.sigmaS, c.sigmaE) = (1.0, 0.7, 0.8, 1.2)
        (c.hessian, c.mode, c.seed) = (.full, .gram, seed)
        return c
    }

    /// The moment estimates over 6 independent draws of the truth: each σ² within 4 standard errors
    /// (over the draws) of its true value, and the logit scale and accuracy likewise.
    func testCalibrationRecoversTheParameters() throws {
        var estimates: [[Double]] = []
        for seed in 0..<6 {
            let truth = SelfConsistencyTests.truth(seed: 100 + UInt64(seed))
            let g = try ModelSimulation.run(truth, gramStatistics: true).gram!
            let m = g.moments
            estimates.append([m.sigmaC * m.sigmaC, m.sigmaD * m.sigmaD, m.sigmaS * m.sigmaS, m.sigmaE * m.sigmaE,
                              g.logitScale * g.logitScale, g.accuracy])
        }
        let t = SelfConsistencyTests.truth(seed: 0)
        let expected = [t.sigmaC * t.sigmaC, t.sigmaD * t.sigmaD, t.sigmaS * t.sigmaS, t.sigmaE * t.sigmaE, t.sigmaZ * t.sigmaZ, t.accuracy]
        let names = ["σ_c²", "σ_d²", "σ_s²", "σ_e²", "σ_z²", "accuracy"]
        for j in expected.indices {
            let v = estimates.map { $0[j] }
            let mean = v.reduce(0, +) / Double(v.count)
            let se = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1) / Double(v.count)).squareRoot()
            XCTAssertLessThan(abs(mean - expected[j]), 4 * se + 1e-12, "\(names[j]): \(mean) ± \(se) vs \(expected[j])")
        }
    }

    /// One draw of the truth compared with the models calibrated on it: the class-conditional and
    /// semi-empirical models agree on every statistic; the paper's model cannot carry q^SLSC > q^SL.
    func testModelComparedWithItselfAgrees() throws {
        let truth = SelfConsistencyTests.truth(seed: 100)
        let source = try ModelSimulation.run(truth, gramStatistics: true).gram!
        let comparison = try ModelComparison(source: source, hessian: nil, parameters: truth.dimension, seeds: 5, firstSeed: 0, topK: 5,
                                             hyperplanes: 1)
        for row in comparison.statistics where row.note == nil {
            for model in row.models where model.kind != .fortGanguli {
                XCTAssertEqual(model.agreement.verdict, .agree,
                               "\(model.kind.rawValue) on \(row.label): source \(row.observed), model \(model.agreement.modelMean) ± \(model.agreement.modelSpread)")
            }
        }
        XCTAssertEqual(comparison.statistic("q_slsc")!.models.first { $0.kind == .fortGanguli }!.agreement.verdict, .differ)
        for key in ComparedStatistics.hessianKeys { XCTAssertEqual(comparison.statistic(key)!.note, "needs a checkpoint") }
    }
}

/// A source whose gradient norms vary from example to example, as a network's do: the model's
/// Gram with every example's logit gradients rescaled by a random log-normal factor. The calibration
/// fits the model's cosine laws, so the class-conditional model still reproduces q^SLSC and the
/// gradient energy; q^SL also depends on how many examples each class has, so it is reproduced by the
/// semi-empirical model, which keeps the source's labels (the class-conditional model draws its own,
/// and is held to 2%).
final class HeterogeneousNormTests: XCTestCase {
    func testCalibrationReproducesCosinesAndEnergy() throws {
        var truth = SelfConsistencyTests.truth(seed: 200)
        truth.examples = 80
        let model = try ModelSimulation.run(truth, gramStatistics: true).gram!.source
        let (n, c) = (model.examples, model.classes)
        let rng = RandomStream(seed: 9)
        let factors = (0..<n).map { _ in exp(0.6 * rng.gaussian()) }
        let k = Matrix(rows: n * c, cols: n * c) { i, j in model.gram[i, j] * factors[i / c] * factors[j / c] }
        let source = try GramStatistics(LogitGradientGram(gram: k, logits: model.logits, labels: model.labels, classes: c,
                                                          parameters: truth.dimension))
        let comparison = try ModelComparison(source: source, hessian: nil, parameters: truth.dimension, seeds: 4, firstSeed: 0, topK: 5,
                                             hyperplanes: 1, kinds: [.classConditional, .semiEmpirical])
        func agreement(_ key: String, _ kind: ModelKind) -> (Double, Agreement) {
            let row = comparison.statistic(key)!
            return (row.observed, row.models.first { $0.kind == kind }!.agreement)
        }
        for (key, kind) in [("q_slsc", ModelKind.classConditional), ("energy", .classConditional),
                            ("q_slsc", .semiEmpirical), ("q_sl", .semiEmpirical), ("energy", .semiEmpirical)] {
            let (observed, a) = agreement(key, kind)
            XCTAssertEqual(a.verdict, .agree, "\(kind.rawValue) \(key): source \(observed), model \(a.modelMean) ± \(a.modelSpread)")
            XCTAssertEqual(a.modelMean, observed, accuracy: 0.005 * abs(observed), "\(kind.rawValue) \(key)")
        }
        let (observed, a) = agreement("q_sl", .classConditional)
        XCTAssertEqual(a.modelMean, observed, accuracy: 0.02 * observed, "class-conditional q^SL")
    }
}
