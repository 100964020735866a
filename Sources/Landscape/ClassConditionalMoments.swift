import Foundation
import Linalg

/// The class-conditional means of the logit gradients and the calibration of the class-conditional
/// random model, J^μ_k = S_k·(c_k + d_{k,y_μ} + s_k·[y_μ = k]) + e^μ_k, from (K, p, y).
///
/// m_{k,a} = mean of J^μ_k over the n_a examples of class a; e^μ_k = J^μ_k − m_{k,y_μ} is the
/// within-class residual. In the model (σ's in units of 1/√D, per-coordinate variance σ²/D), with
/// A = σ_c² + σ_d² and B = σ_c² + σ_d² + σ_s²: for distinct classes a ≠ b, E[m_{k,a}·m_{k,b}] = S_k²σ_c²,
/// E‖m_{k,a}‖² = S_k²A + σ_e²/n_a (a ≠ k), E‖m_{k,k}‖² = S_k²B + σ_e²/n_k, E Σ_{μ∈a}‖e^μ_k‖² = (n_a − 1)σ_e².
/// `raw` matches these moments on the Gram itself (pooled over k with weights n_a); it is unbiased
/// under the model.
///
/// The calibration has to make the model reproduce the source's gradient energy (mean ‖J^μ_k‖²) and
/// its mean cosines q^SLSC and q^SL — and a network's gradient norms vary from example to example,
/// so inner-product moments do not give its cosines (on the trained 784-256-256-10 MLP, raw moments
/// predict q^SLSC = 0.71 against the measured 0.64). In the model the norms concentrate, so with
/// r_A = A/σ_e², r_B = B/σ_e², r_c = σ_c²/σ_e² the mean cosine of two gradients of logit k is: both in
/// class k, S_k²r_B/(1 + S_k²r_B); both in one class a ≠ k, S_k²r_A/(1 + S_k²r_A); in two classes
/// a ≠ b, neither k, S_k²r_c/(1 + S_k²r_A); one in class k and one not, S_k²r_c/√((1 + S_k²r_A)(1 + S_k²r_B)).
/// The calibration solves, in this order:
/// - S_k²r_B = the odds of logit k's own-class mean cosine, for every k (r_B their mean, S_k² = r_B(k)/r_B):
///   the model's q^SLSC, the mean over k of those cosines, is the source's;
/// - r_A so that the model's pair-weighted same-class (a ≠ k) mean cosine, Σ S_k²r_A/(1 + S_k²r_A) over
///   the pairs, is the source's (`CosineBlocks.sameClass`; the model's cosine is monotone in r_A, so
///   bisection finds it — the odds of the pooled cosine would miss it by Jensen's inequality, since
///   S_k varies);
/// - r_c from q^SL: the model's q^SL at the source's class counts is linear in r_c, so it is set equal;
/// - σ_e² from the energy, E = σ_e²(1 + Σ_k S_k²(n_k r_B + (N − n_k) r_A)/(N·C)).
/// The model then has the source's energy, q^SLSC and q^SL (the last at the source's class counts: a
/// model drawing its own labels carries its own count fluctuation), and its same-class cosines; the
/// split of the cross-class pairs between the two remaining blocks follows the model's law. (Lengths
/// from the raw class means ‖m_{k,k}‖ would carry the example-to-example spread of a network's gradient
/// norms into S_k and lower the model's q^SLSC; the raw class-mean lengths stay reported.)
///
/// The paper's own calibration (σ_d = σ_s = 0) takes c_k = the mean of J^μ_k over all N examples and
/// σ_E² from the residuals J^μ_k − c_k (× N/(N − 1)), σ_c² = mean_k‖c_k‖² − σ_E²/N, on the raw Gram:
/// the energy σ_c² + σ_E² is the source's, as the paper sets it up.
/// Estimates may come out negative (a variance below its sampling noise); `sigma…` clip at zero.
public struct ClassConditionalMoments: Sendable {
    /// The four moment estimates of one Gram (σ² in the Gram's units), and the paper's two.
    public struct Estimate: Sendable, Equatable {
        public var sigmaE2: Double
        public var sigmaC2: Double
        /// σ_c² + σ_d², from the off-diagonal class means m_{k,a}, a ≠ k.
        public var offDiagonal: Double
        /// σ_c² + σ_d² + σ_s², from the diagonal class means m_{k,k}.
        public var diagonal: Double
        /// ‖m_{k,k}‖² − σ_e²/n_k for each k.
        public var diagonalMeans: [Double]
        /// The paper's calibration: σ_c², σ_E² around the all-example means, and ‖c_k‖² − σ_E²/N for each k.
        public var paperSigmaC2: Double
        public var paperSigmaE2: Double
        public var paperMeans: [Double]
        /// Mean diagonal of the Gram, mean ‖J^μ_k‖².
        public var energy: Double
    }

    /// Mean cosines of pairs μ ≠ ν of gradients of one logit k, pooled over k, by where the two
    /// examples sit: both in class k (`ownClass`), both in one class a ≠ k (`sameClass`), in two
    /// different classes, neither k (`crossClass`), one in class k and one not (`mixed`).
    public struct CosineBlocks: Sendable, Equatable {
        public var ownClass: Double
        public var sameClass: Double
        public var crossClass: Double
        public var mixed: Double
    }

    public let classes: Int
    /// n_a.
    public let counts: [Int]
    /// m_{k,a}·m_{l,b}, C²×C², index k·C + a.
    public let meanGram: Matrix
    /// Σ_{μ∈a}‖e^μ_k‖², index k·C + a.
    public let withinEnergy: [Double]
    /// The moment estimator on the Gram itself, unbiased under the model.
    public let raw: Estimate
    public let cosines: CosineBlocks
    /// r_B(k): the odds of the own-class mean cosine of each logit k (classes with fewer than two
    /// examples take the pooled value).
    public let ownClassOdds: [Double]

    /// mean over (μ, k) of ‖J^μ_k‖².
    public var meanSquaredNorm: Double { raw.energy }

    /// Odds q/(1 − q) of a mean cosine, q clipped to [0, 1).
    static func odds(_ x: Double) -> Double { let q = min(max(x, 0), 1 - 1e-12); return q / (1 - q) }

    /// The ratios (r_c, r_A, r_B) to σ_e², and σ_e², computed once at initialisation (see the type's comment).
    let ratios: (c: Double, a: Double, b: Double, e2: Double)

    /// Solves the calibration: r_B and S_k from the own-class odds, r_A from the same-class cosine, r_c
    /// from q^SL at the counts `n`, σ_e² from the energy.
    static func solve(ownClassOdds odds: [Double], sameClassCosine: Double, qSL: Double, counts n: [Int], energy: Double)
        -> (c: Double, a: Double, b: Double, e2: Double) {
        let c = odds.count
        let rb = odds.reduce(0, +) / Double(max(c, 1))
        let scales = odds.map { rb > 0 ? $0 / rb : 1 }   // S_k²
        let ra = solveSameClass(target: sameClassCosine, scales: scales, counts: n)
        let total = Double(n.reduce(0, +))
        let pairs = total * (total - 1)
        // The model's q^SL = constant + r_c·slope, each a mean over k of pair-weighted block cosines.
        var constant = 0.0, slope = 0.0
        for k in 0..<c {
            let s2 = scales[k]
            let (nk, a1, b1) = (Double(n[k]), 1 + s2 * ra, 1 + s2 * rb)
            constant += nk * (nk - 1) * (s2 * rb / b1)
            var crossPairs = 0.0
            for a in 0..<c where a != k {
                let na = Double(n[a])
                constant += na * (na - 1) * (s2 * ra / a1)
                slope += 2 * nk * na * s2 / (a1 * b1).squareRoot()
                for b in 0..<c where b != k && b != a { crossPairs += na * Double(n[b]) }
            }
            slope += crossPairs * s2 / a1
        }
        (constant, slope) = (constant / (Double(c) * pairs), slope / (Double(c) * pairs))
        let rc = slope > 0 ? max((qSL - constant) / slope, 0) : 0
        var weight = 0.0
        for k in 0..<c { weight += scales[k] * (Double(n[k]) * rb + (total - Double(n[k])) * ra) }
        let e2 = energy / (1 + weight / (total * Double(c)))
        return (rc, ra, rb, e2)
    }

    /// Calibrated σ's (in the units of the Gram's square root, i.e. 1/√D for a D-dimensional source).
    public var sigmaE: Double { ratios.e2.squareRoot() }
    public var sigmaC: Double { let r = ratios; return (r.c * r.e2).squareRoot() }
    public var sigmaD: Double { let r = ratios; return (max(r.a - r.c, 0) * r.e2).squareRoot() }
    public var sigmaS: Double { let r = ratios; return (max(r.b - max(r.a, r.c), 0) * r.e2).squareRoot() }
    /// S_k, the relative lengths of the class-conditional mean parts: S_k² = r_B(k)/r_B.
    public var lengths: [Double] {
        let mean = ownClassOdds.reduce(0, +) / Double(max(ownClassOdds.count, 1))
        return ownClassOdds.map { mean > 0 ? ($0 / mean).squareRoot() : 1 }
    }
    public var paperSigmaC: Double { max(raw.paperSigmaC2, 0).squareRoot() }
    public var paperSigmaE: Double { max(raw.paperSigmaE2, 0).squareRoot() }
    public var paperLengths: [Double] {
        raw.paperMeans.map { raw.paperSigmaC2 > 0 ? max($0 / raw.paperSigmaC2, 0).squareRoot() : 1 }
    }

    /// - Parameters: pairSums: the unit-vector pair sums of `source`, if the caller has them (they are
    ///   the q statistics' too).
    public init(_ source: LogitGradientGram, pairSums: LogitGradientPairSums? = nil) {
        let (c, y) = (source.classes, source.labels)
        let counts = source.classCounts
        let (meanGram, within, raw) = ClassConditionalMoments.estimate(source.gram, labels: y, classes: c, counts: counts)
        (classes, self.counts, self.meanGram, withinEnergy, self.raw) = (c, counts, meanGram, within, raw)
        let sums = pairSums ?? LogitGradientPairSums(gram: source.gram, labels: y, classes: c)
        cosines = ClassConditionalMoments.cosineBlocks(sums)
        let pooled = Self.odds(cosines.ownClass)
        let odds = (0..<c).map { k -> Double in
            let n = Double(counts[k])
            guard n >= 2 else { return pooled }
            return Self.odds((sums.blockSums[k * c + k, k * c + k] - sums.selfSums[k * c + k]) / (n * (n - 1)))
        }
        ownClassOdds = odds
        ratios = Self.solve(ownClassOdds: odds, sameClassCosine: cosines.sameClass, qSL: LogitGradientClustering(sums).qSL,
                            counts: counts, energy: raw.energy)
    }

    /// r_A ≥ 0 with Σ_k Σ_{a≠k} n_a(n_a − 1)·S_k²r_A/(1 + S_k²r_A) = target·Σ_k Σ_{a≠k} n_a(n_a − 1), by
    /// bisection on the monotone left side (a target at or below 0 gives 0, one at or above 1 the largest
    /// representable odds).
    static func solveSameClass(target: Double, scales: [Double], counts n: [Int]) -> Double {
        let c = scales.count
        var weights = [Double](repeating: 0, count: c), total = 0.0
        for k in 0..<c { for a in 0..<c where a != k {
            let w = Double(n[a]) * Double(n[a] - 1)
            weights[k] += max(w, 0)
            total += max(w, 0)
        } }
        guard total > 0, target > 0 else { return 0 }
        func cosine(_ r: Double) -> Double { (0..<c).reduce(0.0) { $0 + weights[$1] * scales[$1] * r / (1 + scales[$1] * r) } / total }
        var (lo, hi) = (0.0, max(odds(target), 1.0))
        while cosine(hi) < target && hi < 1e12 { hi *= 2 }
        for _ in 0..<200 where hi - lo > 1e-15 * hi {
            let mid = 0.5 * (lo + hi)
            if cosine(mid) < target { lo = mid } else { hi = mid }
        }
        return 0.5 * (lo + hi)
    }

    /// The pooled mean cosines from the unit-vector block sums (self-pairs removed).
    static func cosineBlocks(_ s: LogitGradientPairSums) -> CosineBlocks {
        let c = s.classes, n = s.classCounts.map(Double.init)
        var own = (0.0, 0.0), same = (0.0, 0.0), cross = (0.0, 0.0), mixed = (0.0, 0.0)
        for k in 0..<c {
            for a in 0..<c {
                for b in 0..<c {
                    let sum = s.blockSums[k * c + a, k * c + b]
                    if a == b {
                        let pairs = n[a] * (n[a] - 1)
                        let value = sum - s.selfSums[k * c + a]
                        if a == k { own.0 += value; own.1 += pairs } else { same.0 += value; same.1 += pairs }
                    } else if a == k || b == k {
                        mixed.0 += sum; mixed.1 += n[a] * n[b]
                    } else {
                        cross.0 += sum; cross.1 += n[a] * n[b]
                    }
                }
            }
        }
        func mean(_ x: (Double, Double)) -> Double { x.1 > 0 ? x.0 / x.1 : 0 }
        return CosineBlocks(ownClass: mean(own), sameClass: mean(same), crossClass: mean(cross), mixed: mean(mixed))
    }

    /// The class-mean Gram, within-class energies and moment estimates of one Gram.
    static func estimate(_ k: Matrix, labels y: [Int], classes c: Int, counts: [Int])
        -> (meanGram: Matrix, within: [Double], estimate: Estimate) {
        let n = y.count, size = n * c
        // Block sums Σ_{μ∈a, ν∈b} J^μ_k·J^ν_l at (k·C + a, l·C + b), and the diagonal energies.
        var sums = Matrix(rows: c * c, cols: c * c)
        var diagonal = [Double](repeating: 0, count: c * c)   // Σ_{μ∈a} ‖J^μ_k‖²
        k.storage.withUnsafeBufferPointer { pk in
            sums.storage.withUnsafeMutableBufferPointer { ps in
                for col in 0..<size {
                    let b = (col % c) * c + y[col / c]
                    for row in 0..<size { ps[((row % c) * c + y[row / c]) + b * c * c] += pk[row + col * size] }
                    diagonal[b] += pk[col + col * size]
                }
            }
        }
        let meanGram = Matrix(rows: c * c, cols: c * c) { i, j in
            let (na, nb) = (counts[i % c], counts[j % c])
            return na > 0 && nb > 0 ? sums[i, j] / Double(na * nb) : 0
        }
        let within = (0..<(c * c)).map { i in diagonal[i] - Double(counts[i % c]) * meanGram[i, i] }
        let energy = diagonal.reduce(0, +)
        let dof = Double(counts.reduce(0) { $0 + max($1 - 1, 0) })
        let sigmaE2 = dof > 0 ? within.reduce(0, +) / (Double(c) * dof) : 0

        var crossSum = 0.0, crossWeight = 0.0, offSum = 0.0, offWeight = 0.0, diagSum = 0.0, diagWeight = 0.0
        var diagonalMeans = [Double](repeating: 0, count: c)
        for l in 0..<c {
            for a in 0..<c where counts[a] > 0 {
                let na = Double(counts[a])
                let corrected = meanGram[l * c + a, l * c + a] - sigmaE2 / na
                if a == l { diagSum += na * corrected; diagWeight += na; diagonalMeans[l] = corrected }
                else { offSum += na * corrected; offWeight += na }
                for b in 0..<c where b != a && counts[b] > 0 {
                    let w = na * Double(counts[b])
                    crossSum += w * meanGram[l * c + a, l * c + b]
                    crossWeight += w
                }
            }
        }
        // The paper's calibration around the all-example means c_k = (1/N)Σ_μ J^μ_k.
        var allMeans = [Double](repeating: 0, count: c)
        for l in 0..<c {
            var s = 0.0
            for a in 0..<c { for b in 0..<c { s += sums[l * c + a, l * c + b] } }
            allMeans[l] = s / Double(n * n)
        }
        let residual = (energy - Double(n) * allMeans.reduce(0, +)) / Double(size)
        let paperE2 = residual * Double(n) / Double(n - 1)
        let paperMeans = allMeans.map { $0 - paperE2 / Double(n) }
        let estimate = Estimate(sigmaE2: sigmaE2, sigmaC2: crossWeight > 0 ? crossSum / crossWeight : 0,
                                offDiagonal: offWeight > 0 ? offSum / offWeight : 0, diagonal: diagWeight > 0 ? diagSum / diagWeight : 0,
                                diagonalMeans: diagonalMeans, paperSigmaC2: paperMeans.reduce(0, +) / Double(c), paperSigmaE2: paperE2,
                                paperMeans: paperMeans, energy: energy / Double(size))
        return (meanGram, within, estimate)
    }

    /// Gram of the within-class residuals e^μ_k = J^μ_k − m_{k,y_μ}, (N·C)×(N·C), index μ·C + k:
    /// K − R − Rᵀ + M with R[μk, νl] = J^μ_k·m_{l,y_ν} and M[μk, νl] = m_{k,y_μ}·m_{l,y_ν}, all block sums of K
    /// (`ClassMeanProducts`).
    public static func withinClassResidualGram(_ source: LogitGradientGram) -> Matrix {
        let c = source.classes, y = source.labels, k = source.gram
        let products = ClassMeanProducts(source)
        let (r, means) = (products.r, products.means)
        return Matrix(rows: k.rows, cols: k.cols) { i, j in
            let (ki, kj) = ((i % c) * c + y[i / c], (j % c) * c + y[j / c])
            return k[i, j] - r[i, kj] - r[j, ki] + means[ki, kj]
        }
    }
}

/// The logit gradients' products with the class-conditional means m_{k,a} (the mean of J^μ_k over
/// the examples μ of class a), from the Gram alone: R[μ·C + l, k·C + a] = J^μ_l·m_{k,a} ((N·C)×C²) and
/// M[k·C + a, l·C + b] = m_{k,a}·m_{l,b} (C²×C²). Example μ's logit k has its own class mean in column
/// k·C + y_μ, so the within-class residuals e^μ_k = J^μ_k − m_{k,y_μ} are J·(I − E·Indᵀ) with Ind the
/// (N·C)×C² indicator of those columns and E = Ind/n_a, and their Gram is
/// K − Ind·Rᵀ − R·Indᵀ + Ind·M·Indᵀ.
struct ClassMeanProducts {
    let r: Matrix
    let means: Matrix

    init(_ source: LogitGradientGram) {
        let (n, c) = (source.examples, source.classes)
        let k = source.gram, y = source.labels, counts = source.classCounts
        let size = n * c
        var r = Matrix(rows: size, cols: c * c)
        for col in 0..<size {
            let target = (col % c) * c + y[col / c]
            let inverse = 1 / Double(counts[y[col / c]])
            for row in 0..<size { r[row, target] += k[row, col] * inverse }
        }
        var means = Matrix(rows: c * c, cols: c * c)
        for row in 0..<size {
            let target = (row % c) * c + y[row / c]
            let inverse = 1 / Double(counts[y[row / c]])
            for col in 0..<(c * c) { means[target, col] += r[row, col] * inverse }
        }
        (self.r, self.means) = (r, means)
    }
}
