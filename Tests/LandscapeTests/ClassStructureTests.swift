import Foundation
@testable import Landscape
import Linalg
import XCTest

/// Papyan's decomposition and the class-conditional moments from a Gram, against the same
/// quantities built from explicit D-dimensional gradient vectors.
final class ClassStructureTests: XCTestCase {
    /// Explicit logit gradients with class structure: J^μ_k = m_{k,y_μ} + noise, D×(N·C), column μ·C + k.
    struct Explicit {
        let jacobian: Matrix
        let logits: [Double]
        let labels: [Int]
        let classes: Int
        var examples: Int { labels.count }
        var probabilities: [Double] { softmaxRows(logits, classes: classes) }
        var source: LogitGradientGram {
            get throws { try LogitGradientGram(gram: BLAS.gram(jacobian), logits: logits, labels: labels, classes: classes) }
        }
    }

    func explicitSource(labels: [Int], classes c: Int, dimension d: Int, seed: UInt64, meanScale: Double = 1) -> Explicit {
        let rng = RandomStream(seed: seed)
        let n = labels.count
        let means = rng.gaussianMatrix(rows: d, cols: c * c)   // m_{k,a} at k·C + a
        var j = rng.gaussianMatrix(rows: d, cols: n * c)
        for mu in 0..<n { for k in 0..<c { for i in 0..<d {
            j[i, mu * c + k] = 0.4 * j[i, mu * c + k] + meanScale * means[i, k * c + labels[mu]]
        } } }
        let z = (0..<(n * c)).map { _ in 2 * rng.gaussian() }
        return Explicit(jacobian: j, logits: z, labels: labels, classes: c)
    }

    /// The D×D terms built from the vectors g_{μ,c′}, δ_{c,c′}, δ_c directly: the class level is
    /// Σ_a W_aδ_aδ_aᵀ plus the c′ = a terms Σ_a w_{a,a}δ_{a,a}δ_{a,a}ᵀ, which lie along the same δ_a.
    func denseTerms(_ e: Explicit) -> (g: Matrix, classLevel: Matrix, cross: Matrix, within: Matrix) {
        let (n, c, d) = (e.examples, e.classes, e.jacobian.rows)
        let p = e.probabilities, y = e.labels
        func asIf(_ mu: Int, _ cp: Int) -> [Double] {
            (0..<d).map { i in (0..<c).reduce(0.0) { $0 + e.jacobian[i, mu * c + $1] * ((cp == $1 ? 1 : 0) - p[mu * c + $1]) } }
        }
        var g = Matrix(rows: d, cols: d), within = Matrix(rows: d, cols: d)
        var classLevel = Matrix(rows: d, cols: d), cross = Matrix(rows: d, cols: d)
        func add(_ m: inout Matrix, _ v: [Double], _ w: Double) {
            for j in 0..<d { for i in 0..<d { m[i, j] += w * v[i] * v[j] } }
        }
        var delta = [[[Double]]](repeating: [[Double]](repeating: [], count: c), count: c)
        var weight = [[Double]](repeating: [Double](repeating: 0, count: c), count: c)
        for a in 0..<c { for cp in 0..<c {
            var s = [Double](repeating: 0, count: d), mass = 0.0
            for mu in 0..<n where y[mu] == a {
                let v = asIf(mu, cp)
                for i in 0..<d { s[i] += p[mu * c + cp] * v[i] }
                mass += p[mu * c + cp]
            }
            delta[a][cp] = s.map { $0 / mass }
            weight[a][cp] = mass / Double(n)
        } }
        for mu in 0..<n { for cp in 0..<c {
            let v = asIf(mu, cp), w = p[mu * c + cp] / Double(n)
            add(&g, v, w)
            add(&within, zip(v, delta[y[mu]][cp]).map { $0 - $1 }, w)
        } }
        for a in 0..<c {
            let total = (0..<c).filter { $0 != a }.reduce(0.0) { $0 + weight[a][$1] }
            var centre = [Double](repeating: 0, count: d)
            for cp in 0..<c where cp != a { for i in 0..<d { centre[i] += weight[a][cp] * delta[a][cp][i] / total } }
            add(&classLevel, centre, total)
            for cp in 0..<c where cp != a { add(&cross, zip(delta[a][cp], centre).map { $0 - $1 }, weight[a][cp]) }
            add(&classLevel, delta[a][a], weight[a][a])
            // Σ_{c′} p_{c′}g_{μ,c′} = 0 makes w_{a,a}δ_{a,a} = −W_aδ_a.
            for i in 0..<d { XCTAssertEqual(weight[a][a] * delta[a][a][i], -total * centre[i], accuracy: 1e-12) }
        }
        return (g, classLevel, cross, within)
    }

    func testDecompositionSumsBackToGAndMatchesDenseTerms() throws {
        let labels = [0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 0, 1]   // unbalanced: 5, 4, 3
        let e = explicitSource(labels: labels, classes: 3, dimension: 60, seed: 7)
        let s = try ClassStructure(e.source)
        let t = denseTerms(e)
        let scale = t.g.maxAbs
        XCTAssertLessThan((t.classLevel + t.cross + t.within).maxAbsDifference(t.g), 1e-12 * scale, "terms sum to G")
        let dense = try Eigen.symmetric(t.g, vectors: true)
        let summed = try Eigen.symmetric(t.classLevel + t.cross + t.within, vectors: false).values
        let top = dense.values[0]
        for i in 0..<s.gaussNewton.eigenvalues.count {   // rank N(C − 1) = 24, then the N null vectors' zeros
            XCTAssertEqual(s.gaussNewton.eigenvalues[i], dense.values[i], accuracy: 1e-10 * top, "λ\(i)")
            XCTAssertEqual(summed[i], dense.values[i], accuracy: 1e-10 * top, "sum λ\(i)")
        }
        XCTAssertEqual(s.trace, t.g.trace, accuracy: 1e-12 * t.g.trace)
        for (name, mine, term) in [("class", s.classSpectrum, t.classLevel), ("cross", s.crossSpectrum, t.cross),
                                   ("within", s.withinSpectrum, t.within)] {
            let reference = try Eigen.symmetric(term, vectors: false).values
            for i in 0..<mine.count {
                XCTAssertEqual(mine[i], reference[i], accuracy: 1e-10 * top, "\(name) λ\(i)")
            }
        }
        XCTAssertEqual(s.classSpectrum.filter { $0 > 1e-10 * top }.count, 3, "class level has rank C")
        XCTAssertEqual(s.crossSpectrum.filter { $0 > 1e-10 * top }.count, 3, "cross level has rank C(C − 2)")
        XCTAssertEqual(s.traces.classLevel, t.classLevel.trace, accuracy: 1e-12 * t.g.trace)
        XCTAssertEqual(s.traces.cross, t.cross.trace, accuracy: 1e-12 * t.g.trace)
        XCTAssertEqual(s.traces.within, t.within.trace, accuracy: 1e-12 * t.g.trace)
        // The bulk: the G-term of the within-class Jacobian residuals e^μ_k = J^μ_k − m_{k,y_μ}.
        let (n, c, d) = (e.examples, 3, 60)
        var residuals = e.jacobian
        for k in 0..<c { for a in 0..<c {
            let members = (0..<n).filter { labels[$0] == a }
            for i in 0..<d {
                let mean = members.reduce(0.0) { $0 + e.jacobian[i, $1 * c + k] } / Double(members.count)
                for mu in members { residuals[i, mu * c + k] -= mean }
            }
        } }
        var bulk = Matrix(rows: d, cols: d)
        let probabilities = e.probabilities
        for mu in 0..<n {
            var block = Matrix(rows: d, cols: c)
            for k in 0..<c { for i in 0..<d { block[i, k] = residuals[i, mu * c + k] } }
            let f = softmaxHessianFactor(probabilities[(mu * c)..<((mu + 1) * c)])
            BLAS.accumulateGram(BLAS.multiply(block, f), transpose: false, alpha: 1 / Double(n), into: &bulk)
        }
        let bulkReference = try Eigen.symmetric(bulk, vectors: false).values
        for i in 0..<s.bulkSpectrum.count { XCTAssertEqual(s.bulkSpectrum[i], bulkReference[i], accuracy: 1e-10 * top, "bulk λ\(i)") }
        XCTAssertEqual(s.outliers.bulkEdge, s.bulkSpectrum[0])
        // Level shares u_iᵀ G_level u_i / λ_i from the dense eigenvectors.
        let u = dense.vectors!
        for i in 0..<6 {
            let v = u.column(i)
            func share(_ m: Matrix) -> Double { BLAS.dot(v, BLAS.multiply(m, v)) / dense.values[i] }
            let l = s.levels[i]
            XCTAssertEqual(l.classLevel, share(t.classLevel), accuracy: 1e-9, "class share \(i)")
            XCTAssertEqual(l.cross, share(t.cross), accuracy: 1e-9, "cross share \(i)")
            XCTAssertEqual(l.within, share(t.within), accuracy: 1e-9, "within share \(i)")
            XCTAssertEqual(l.classLevel + l.cross + l.within, 1, accuracy: 1e-12)
        }
        // Gradient overlaps: g = (1/N)Σ_μ J^μ(p^μ − y^μ).
        let p = e.probabilities
        var gradient = [Double](repeating: 0, count: 60)
        for mu in 0..<e.examples { for k in 0..<3 {
            let r = (p[mu * 3 + k] - (labels[mu] == k ? 1 : 0)) / Double(e.examples)
            for i in 0..<60 { gradient[i] += r * e.jacobian[i, mu * 3 + k] }
        } }
        let norm2 = BLAS.dot(gradient, gradient)
        for i in 0..<6 {
            let a = BLAS.dot(u.column(i), gradient)
            XCTAssertEqual(s.gaussNewton.gradientCosineSquared[i], a * a / norm2, accuracy: 1e-9, "cos² \(i)")
        }
    }

    func testLargestGapIndexFindsTheGap() {
        XCTAssertEqual(ClassStructure.largestGap([10, 9, 8, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], within: 9), 3)
        XCTAssertEqual(ClassStructure.largestGap([5, 4, 0, 0], within: 9), 2, "a positive eigenvalue followed by zero")
    }

    func testMomentsMatchExplicitMeans() throws {
        let labels = [0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 0, 1]
        let e = explicitSource(labels: labels, classes: 3, dimension: 40, seed: 11)
        let source = try e.source
        let m = ClassConditionalMoments(source)
        let (c, d) = (3, 40)
        var means = Matrix(rows: d, cols: c * c)
        let counts = [5, 4, 3]
        for mu in 0..<labels.count { for k in 0..<c { for i in 0..<d {
            means[i, k * c + labels[mu]] += e.jacobian[i, mu * c + k] / Double(counts[labels[mu]])
        } } }
        let reference = BLAS.gram(means)
        XCTAssertLessThan(m.meanGram.maxAbsDifference(reference), 1e-12 * reference.maxAbs)
        var residuals = Matrix(rows: d, cols: labels.count * c)
        for mu in 0..<labels.count { for k in 0..<c { for i in 0..<d {
            residuals[i, mu * c + k] = e.jacobian[i, mu * c + k] - means[i, k * c + labels[mu]]
        } } }
        let residualGram = BLAS.gram(residuals)
        XCTAssertLessThan(ClassConditionalMoments.withinClassResidualGram(source).maxAbsDifference(residualGram), 1e-12 * residualGram.maxAbs)
        for k in 0..<c { for a in 0..<c {
            let energy = labels.indices.filter { labels[$0] == a }.reduce(0.0) { $0 + residualGram[$1 * c + k, $1 * c + k] }
            XCTAssertEqual(m.withinEnergy[k * c + a], energy, accuracy: 1e-12 * residualGram.maxAbs)
        } }
        // The paper's calibration keeps the energy: σ_c² + σ_E² = mean ‖J‖².
        XCTAssertEqual(m.raw.paperSigmaC2 + m.raw.paperSigmaE2, m.meanSquaredNorm, accuracy: 1e-12 * m.meanSquaredNorm)
        XCTAssertEqual(m.paperSigmaC * m.paperSigmaC + m.paperSigmaE * m.paperSigmaE, m.meanSquaredNorm, accuracy: 1e-12 * m.meanSquaredNorm)
    }

    /// The estimators are unbiased under the class-conditional model: over 40 independent draws
    /// (D = 400, N = 30 balanced, C = 3) the mean of each estimate is within 4 standard errors of the truth.
    func testMomentEstimatesAreUnbiased() throws {
        let (c, n, d) = (3, 30, 400)
        let truth = (c: 1.0, d: 0.6, s: 0.8, e: 1.5)   // σ's in units of 1/√D
        let labels = (0..<n).map { $0 % c }
        var estimates: [[Double]] = []
        for seed in 0..<40 {
            let rng = RandomStream(seed: UInt64(seed), stream: 5)
            let unit = 1 / Double(d).squareRoot()
            let cv = rng.gaussianMatrix(rows: d, cols: c), dv = rng.gaussianMatrix(rows: d, cols: c * c)
            let sv = rng.gaussianMatrix(rows: d, cols: c), ev = rng.gaussianMatrix(rows: d, cols: n * c)
            var j = Matrix(rows: d, cols: n * c)
            for mu in 0..<n { for k in 0..<c { for i in 0..<d {
                let a = labels[mu]
                j[i, mu * c + k] = unit * (truth.c * cv[i, k] + truth.d * dv[i, k * c + a] + (a == k ? truth.s * sv[i, k] : 0)
                                           + truth.e * ev[i, mu * c + k])
            } } }
            let source = try LogitGradientGram(gram: BLAS.gram(j), logits: [Double](repeating: 0, count: n * c), labels: labels, classes: c)
            let m = ClassConditionalMoments(source)
            estimates.append([m.raw.sigmaE2, m.raw.sigmaC2, m.raw.offDiagonal, m.raw.diagonal])
        }
        let expected = [truth.e * truth.e, truth.c * truth.c, truth.c * truth.c + truth.d * truth.d,
                        truth.c * truth.c + truth.d * truth.d + truth.s * truth.s]
        for j in 0..<4 {
            let v = estimates.map { $0[j] }
            let mean = v.reduce(0, +) / Double(v.count)
            let se = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1) / Double(v.count)).squareRoot()
            XCTAssertLessThan(abs(mean - expected[j]), 4 * se, "moment \(j): \(mean) ± \(se) vs \(expected[j])")
        }
    }

    func testSourceValidationRejectsBadInput() {
        let k = Matrix.identity(8)
        let z = [Double](repeating: 0, count: 8)
        let y = [0, 1, 1, 0]
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch { return String(describing: error) }
        }
        XCTAssertEqual(message { _ = try LogitGradientGram(gram: k, logits: z, labels: y, classes: 2) }, "accepted")
        XCTAssertTrue(message { _ = try LogitGradientGram(gram: Matrix.identity(7), logits: z, labels: y, classes: 2) }
            .contains("need 8×8"))
        var asymmetric = k
        asymmetric[0, 1] = 0.5
        XCTAssertTrue(message { _ = try LogitGradientGram(gram: asymmetric, logits: z, labels: y, classes: 2) }
            .contains("not symmetric"))
        var infinite = k
        infinite[2, 2] = .nan
        XCTAssertTrue(message { _ = try LogitGradientGram(gram: infinite, logits: z, labels: y, classes: 2) }
            .contains("non-finite"))
        XCTAssertTrue(message { _ = try LogitGradientGram(gram: k, logits: z, labels: [0, 2, 1, 0], classes: 2) }
            .contains("outside 0…1"))
        XCTAssertTrue(message { _ = try LogitGradientGram(gram: k, logits: z, labels: [0, 1, 1, 1], classes: 2) }
            .contains("class 0 has 1 example"))
        var negative = k
        negative[3, 3] = -1
        XCTAssertTrue(message { _ = try LogitGradientGram(gram: negative, logits: z, labels: y, classes: 2) }
            .contains("negative diagonal"))
    }
}
