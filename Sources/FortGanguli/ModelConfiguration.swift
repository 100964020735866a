import Foundation

/// Which Hessian the model builds from its logit gradients.
public enum HessianVariant: String, Codable, Sendable, CaseIterable {
    /// Eq. 16: cᵀP̄c + (1/N)Σ_μ E^μᵀP^μE^μ, cross terms dropped (the paper's figures).
    case paper
    /// Eq. 10: the whole G-term (1/N)Σ_μ J^μᵀP^μJ^μ with J^μ = c + E^μ.
    case full
}

/// How much of the spectrum a run computes.
public enum SpectrumMode: String, Codable, Sendable, CaseIterable {
    /// Every nonzero eigenvalue and its gradient overlap (one tridiagonal reduction of K): spectra, Fig. 6.
    case full
    /// Only what the outlier statistics need, from the Bartlett factor without forming W or K: the top
    /// r = max(2C, signal rank + 1, k) eigenpairs (k of --top-k) and the noise term's top C by block Lanczos, the trace
    /// exactly from diagonal blocks, the hyperplanes from the factor's trailing columns. Eq. 16 only
    /// (eq. 10's outliers come from the class decomposition of its whole Gram). Runs that do not
    /// sample W by Bartlett (the dense engine, D < m + R·d) take the full path, which is cheap there.
    /// A phase diagram's outlier statistics (`ModelSimulation.outliers`) take the bordered engine
    /// instead where it fits (`BorderedSpectrum`: the noise term reduced once per σ_z).
    case top
}

/// One configuration of the Fort–Ganguli random model, extended to class-conditional means:
///
///     J^μ_k = S_k·(c_k + d_{k,y_μ} + s_k·[y_μ = k]) + e^μ_k,
///
/// independent Gaussian vectors with per-coordinate variances σ_c²/D, σ_d²/D (one d per logit k and
/// class a, C² of them), σ_s²/D (one s per logit, the own-class extra) and σ_E²/D (e, the residual),
/// S_k the relative class-mean lengths. All σ's are in units of 1/√D, so the paper's σ_c = 1.0/√D,
/// σ_E = 0.7/√D are `sigmaC: 1.0, sigmaE: 0.7`. σ_d = σ_s = 0 (the default) is the paper's model
/// J^μ_k = S_k·c_k + E^μ_k, and then the d and s vectors are not drawn at all.
///
///     let config = ModelConfiguration()          // the paper's defaults
///     let m = try ModelSimulation.run(config)
public struct ModelConfiguration: Codable, Sendable, Equatable {
    public var examples = 300
    public var classes = 10
    public var dimension = 1000
    public var sigmaZ = 15.0
    public var sigmaC = 1.0
    public var sigmaE = 0.7
    /// Class-conditional offsets d_{k,a}: logit k's mean gradient differs from class to class.
    public var sigmaD = 0.0
    /// Own-class extra s_k: logit k's mean gradient on examples of class k.
    public var sigmaS = 0.0
    public var accuracy = 0.95
    public var hessian = HessianVariant.paper
    /// Spreads the class-mean lengths: |c_k| ∝ 1 + s·(2k/(C−1) − 1), k = 0…C−1, so 0 ≤ s < 1.
    public var lengthSpread = 0.0
    /// Relative class-mean lengths s_k (e.g. measured on a network); overrides `lengthSpread` when set.
    public var classLengths: [Double]? = nil
    /// Dimension d of the random hyperplane for the projected Trace/‖H‖ (the paper used 10).
    public var hyperplaneDimension = 10
    /// Independent random hyperplanes R; the reported hyperplane Trace/‖H‖ is their mean. R = 1
    /// draws exactly what earlier versions drew; more hyperplanes append R·d Gaussian columns.
    public var hyperplanes = 1

    /// The Gaussian columns all hyperplanes take, R·d.
    public var hyperplaneColumns: Int { hyperplaneDimension * hyperplanes }
    /// k of "gradient power in the top k eigenvectors"; nil means C.
    public var topK: Int? = nil
    public var seed: UInt64 = 0
    /// Engine: dense (D×D), Gram (m×m) or auto.
    public var mode = EngineMode.auto
    /// Full spectrum or the top part the outlier statistics need (`SpectrumMode`).
    public var spectrum = SpectrumMode.full

    public init() {}

    /// Whether the mean logit gradient depends on the label (σ_d > 0 or σ_s > 0): then the examples
    /// of each class share a mean M_a, otherwise all examples share c.
    public var hasClassConditionalMeans: Bool { sigmaD > 0 || sigmaS > 0 }

    /// Number of generator vectors, m = C + N·C, plus C² offsets d if σ_d > 0 and C own-class
    /// extras s if σ_s > 0.
    public var generators: Int { classes * examples + signalGenerators }

    /// Number of generators of the mean part (c, then d, then s; those present): C + C²·[σ_d > 0] + C·[σ_s > 0].
    public var signalGenerators: Int { classes + (sigmaD > 0 ? classes * classes : 0) + (sigmaS > 0 ? classes : 0) }

    /// The engine `auto` picks: dense while D < `denseCrossover`·m, Gram beyond, where the cost
    /// no longer grows with D.
    public var resolvedMode: EngineMode {
        switch mode {
        case .auto: return Double(dimension) < ModelConfiguration.denseCrossover * Double(generators) ? .dense : .gram
        default: return mode
        }
    }

    /// Dense is cheaper for D < denseCrossover·m: at the paper's N = 300, C = 10 (m = 3010) the
    /// two engines take equal time near D = 2100 on 2 cores (`make bench`).
    public static let denseCrossover = 0.7

    /// k for the gradient-power statistic: `topK`, by default C (or D, the eigenvalue count, if smaller).
    public var gradientPowerK: Int { topK ?? min(classes, dimension) }

    /// q^SL expected from the moments (D → ∞, labels uniform over classes, as the model draws them):
    /// see `expectedClustering(classCounts:)`. With S_k = 1 and σ_d = σ_s = 0 it is the paper's
    /// SNR/(SNR + 1), SNR = σ_c²/σ_E².
    public var expectedQSL: Double { expectedClustering(classCounts: nil).sl }

    /// q^SLSC expected from the moments: mean over logits k of S_k²T/(S_k²T + σ_E²),
    /// T = σ_c² + σ_d² + σ_s² (DESIGN.md, "The class-conditional model").
    public var expectedQSLSC: Double { expectedClustering(classCounts: nil).slsc }

    /// The moment predictions of q^SLSC and q^SL, given the number of examples in each class (nil:
    /// N/C each, the expectation of the model's labels, which are uniform over classes). For μ ≠ ν
    /// and logit k, J^μ_k·J^ν_k ≈ S_k²(σ_c² + σ_d² + σ_s²[a = k]) when both are in class a and
    /// S_k²σ_c² when their classes differ; ‖J^μ_k‖² ≈ S_k²(σ_c² + σ_d² + σ_s²[y_μ = k]) + σ_E².
    /// q^SL averages the pair cosines over logits and over the ordered pairs μ ≠ ν, a class pair
    /// (a, b) having weight n_a(n_b − [a = b])/(N(N − 1)) (same-class weight ≈ 1/C); q^SLSC takes
    /// a = b = k, over the classes with at least two examples (as `LogitGradientClustering` does).
    /// Exact as D → ∞ for given counts; at finite D the sampled vectors' norms and overlaps move it
    /// by O(1/√D).
    public func expectedClustering(classCounts: [Int]?) -> (slsc: Double, sl: Double) {
        let c = classes
        let pairWeight: (Int, Int) -> Double
        if let n = classCounts {
            let total = Double(n.reduce(0, +))
            pairWeight = { a, b in Double(n[a]) * Double(n[b] - (a == b ? 1 : 0)) / (total * (total - 1)) }
        } else {
            pairWeight = { _, _ in 1 / Double(c * c) }
        }
        let (c2, d2, s2, e2) = (sigmaC * sigmaC, sigmaD * sigmaD, sigmaS * sigmaS, sigmaE * sigmaE)
        let scales = classLengthScales
        var slsc = 0.0, sl = 0.0, counted = 0
        for k in 0..<c {
            let g = scales[k] * scales[k]
            // Squared norm of J^μ_k for an example of class a, and the same-class overlap.
            func norm2(_ a: Int) -> Double { g * (c2 + d2 + (a == k ? s2 : 0)) + e2 }
            func cosine(_ a: Int, _ b: Int) -> Double {
                let dot = a == b ? g * (c2 + d2 + (a == k ? s2 : 0)) : g * c2
                let n = (norm2(a) * norm2(b)).squareRoot()
                return n > 0 ? dot / n : 0
            }
            if (classCounts?[k] ?? 2) >= 2 { slsc += cosine(k, k); counted += 1 }
            for a in 0..<c { for b in 0..<c { sl += pairWeight(a, b) * cosine(a, b) / Double(c) } }
        }
        return (counted > 0 ? slsc / Double(counted) : .nan, sl)
    }

    /// Relative class-mean lengths s_k (mean 1).
    public var classLengthScales: [Double] {
        if let given = classLengths { return given }
        guard classes > 1 else { return [1] }
        return (0..<classes).map { 1 + lengthSpread * (2 * Double($0) / Double(classes - 1) - 1) }
    }

    /// The largest σ (σ_z, σ_c, σ_e, σ_d, σ_s, in units of 1/√D) the model accepts. The Hessian's
    /// entries scale as σ², and LAPACK squares them again in its norms, so σ must stay far below
    /// the square root of the largest double: 10⁵⁰ leaves σ⁴·m under 10²⁰⁸ for any m.
    public static let maximumScale = 1e50

    /// Sizes the model derives from N, C, D, d and R, each with overflow-checked arithmetic: N·C
    /// (logit gradients), C² (offsets d), m (generators) and m + R·d (the Gram's order); nil if any
    /// overflows `Int`. `validate()` rejects a configuration for which this is nil, so `generators`
    /// and `hyperplaneColumns` never trap afterwards.
    public var checkedSizes: (examplesTimesClasses: Int, classesSquared: Int, generators: Int, hyperplaneColumns: Int, gramOrder: Int)? {
        let (nc, o1) = examples.multipliedReportingOverflow(by: classes)
        let (cc, o2) = classes.multipliedReportingOverflow(by: classes)
        let (rd, o3) = hyperplaneDimension.multipliedReportingOverflow(by: hyperplanes)
        let (offsets, o4) = classes.addingReportingOverflow(sigmaD > 0 ? cc : 0)
        let (signal, o5) = offsets.addingReportingOverflow(sigmaS > 0 ? classes : 0)
        let (m, o6) = nc.addingReportingOverflow(signal)
        let (order, o7) = m.addingReportingOverflow(rd)
        if o1 || o2 || o3 || o4 || o5 || o6 || o7 { return nil }
        return (nc, cc, m, rd, order)
    }

    /// Rejects impossible parameters with a one-line message that says what to change.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ModelError.invalid(message) } }
        let cap = ModelConfiguration.maximumScale
        for (name, v) in [("--sigma-z", sigmaZ), ("--sigma-c", sigmaC), ("--sigma-e", sigmaE), ("--sigma-d", sigmaD),
                          ("--sigma-s", sigmaS)] {
            try check(v.isFinite && v >= 0 && v <= cap,
                      v.isFinite && v < 0 ? "\(name) is \(v); a standard deviation cannot be negative"
                        : "\(name) is \(v); give a finite number from 0 to 1e50 (its square must stay far from overflow)")
        }
        try check(accuracy.isFinite && accuracy >= 0 && accuracy <= 1, "--accuracy is \(accuracy); it must lie in [0, 1]")
        try check(lengthSpread.isFinite && lengthSpread >= 0 && lengthSpread < 1, "--length-spread is \(lengthSpread); it must lie in [0, 1)")
        try check(examples >= 2, "--examples is \(examples); the model needs at least 2 examples")
        try check(classes >= 2, "--classes is \(classes); the model needs at least 2 classes")
        try check(spectrum == .full || hessian == .paper,
                  "--spectrum top computes eq. 16's outlier statistics; eq. 10 (--hessian full) counts outliers by the class decomposition of its whole Gram, so give --spectrum full")
        try check(dimension >= 1, "--dimension is \(dimension); it must be at least 1")
        if let given = classLengths {
            try check(given.count == classes && given.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= cap },
                      "class lengths must be \(classes) finite non-negative numbers")
        }
        try check(hyperplaneDimension >= 1 && hyperplaneDimension <= dimension,
                  "--hyperplane-dimension is \(hyperplaneDimension); it must lie in [1, D = \(dimension)]")
        try check(hyperplanes >= 1 && hyperplanes <= 10_000, "--hyperplanes is \(hyperplanes); give 1 to 10000")
        try check(gradientPowerK >= 1 && gradientPowerK <= dimension,
                  "--top-k is \(gradientPowerK); it must lie in [1, D = \(dimension)], the Hessian's eigenvalue count")
        try check(examples.multipliedReportingOverflow(by: classes).overflow == false && examples * classes < Int(Int32.max),
                  "N·C = \(examples)·\(classes) is too large; reduce --examples or --classes")
        try check(checkedSizes != nil && checkedSizes!.gramOrder < Int(Int32.max),
                  "the Gram order m + R·d (C + N·C + C² offsets + R·d hyperplane columns) for --classes \(classes), --hyperplane-dimension \(hyperplaneDimension), --hyperplanes \(hyperplanes) exceeds 2³¹; lower them")
    }
}

extension ModelConfiguration {
    /// Throws unless the sampled vectors' Gram (or Jacobian) is finite: where the σ's enter the
    /// numbers, an overflow is named by the scales rather than surfacing later in LAPACK.
    func requireFinite(_ values: [Double]) throws {
        for x in values where !x.isFinite {
            throw ModelError.invalid(String(format: "the sampled logit gradients overflow at σ_c = %g, σ_e = %g, σ_d = %g, σ_s = %g; lower --sigma-c, --sigma-e, --sigma-d or --sigma-s",
                                            sigmaC, sigmaE, sigmaD, sigmaS))
        }
    }
}

/// A configuration the model cannot run, with a message fit for one line of a terminal.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .invalid(let m), .tooLarge(let m): return m
        }
    }
}
