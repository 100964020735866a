import Foundation

/// Which Hessian the model builds from its logit gradients.
public enum HessianVariant: String, Codable, Sendable, CaseIterable {
    /// Eq. 16: cᵀP̄c + (1/N)Σ_μ E^μᵀP^μE^μ, cross terms dropped (the paper's figures).
    case paper
    /// Eq. 10: the whole G-term (1/N)Σ_μ J^μᵀP^μJ^μ with J^μ = c + E^μ.
    case full
}

/// One configuration of the Fort–Ganguli random model. σ_c and σ_E are in units of 1/√D, so the
/// paper's σ_c = 1.0/√D, σ_E = 0.7/√D are `sigmaC: 1.0, sigmaE: 0.7`.
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
    public var accuracy = 0.95
    public var hessian = HessianVariant.paper
    /// Spreads the class-mean lengths: |c_k| ∝ 1 + s·(2k/(C−1) − 1), k = 0…C−1, so 0 ≤ s < 1.
    public var lengthSpread = 0.0
    /// Relative class-mean lengths s_k (e.g. measured on a network); overrides `lengthSpread` when set.
    public var classLengths: [Double]? = nil
    /// Dimension d of the random hyperplane for the projected Trace/‖H‖ (the paper used 10).
    public var hyperplaneDimension = 10
    /// k of "gradient power in the top k eigenvectors"; nil means C.
    public var topK: Int? = nil
    public var seed: UInt64 = 0
    /// Engine: dense (D×D), Gram (m×m) or auto.
    public var mode = EngineMode.auto

    public init() {}

    /// Number of generator vectors, m = C + N·C.
    public var generators: Int { classes * (examples + 1) }

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

    /// k for the gradient-power statistic.
    public var gradientPowerK: Int { topK ?? classes }

    /// Logit-gradient clustering expected from SNR = σ_c²/σ_E²: q^SL = SNR/(SNR+1).
    public var expectedQSL: Double {
        let snr = sigmaC * sigmaC / (sigmaE * sigmaE)
        return snr / (snr + 1)
    }

    /// Relative class-mean lengths s_k (mean 1).
    public var classLengthScales: [Double] {
        if let given = classLengths { return given }
        guard classes > 1 else { return [1] }
        return (0..<classes).map { 1 + lengthSpread * (2 * Double($0) / Double(classes - 1) - 1) }
    }

    /// Rejects impossible parameters with a one-line message that says what to change.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ModelError.invalid(message) } }
        for (name, v) in [("--sigma-z", sigmaZ), ("--sigma-c", sigmaC), ("--sigma-e", sigmaE),
                          ("--accuracy", accuracy), ("--length-spread", lengthSpread)] {
            try check(v.isFinite, "\(name) is \(v); give a finite number")
        }
        try check(examples >= 2, "--examples is \(examples); the model needs at least 2 examples")
        try check(classes >= 2, "--classes is \(classes); the model needs at least 2 classes")
        try check(dimension >= 1, "--dimension is \(dimension); it must be at least 1")
        try check(sigmaZ >= 0, "--sigma-z is \(sigmaZ); a standard deviation cannot be negative")
        try check(sigmaC >= 0, "--sigma-c is \(sigmaC); a standard deviation cannot be negative")
        try check(sigmaE >= 0, "--sigma-e is \(sigmaE); a standard deviation cannot be negative")
        try check(accuracy >= 0 && accuracy <= 1, "--accuracy is \(accuracy); it must lie in [0, 1]")
        try check(lengthSpread >= 0 && lengthSpread < 1, "--length-spread is \(lengthSpread); it must lie in [0, 1)")
        if let given = classLengths {
            try check(given.count == classes && given.allSatisfy { $0.isFinite && $0 >= 0 },
                      "class lengths must be \(classes) finite non-negative numbers")
        }
        try check(hyperplaneDimension >= 1 && hyperplaneDimension <= dimension,
                  "--hyperplane-dimension is \(hyperplaneDimension); it must lie in [1, D = \(dimension)]")
        try check(gradientPowerK >= 1, "--top-k is \(gradientPowerK); it must be at least 1")
        let (n, c) = (examples, classes)
        try check(n.multipliedReportingOverflow(by: c).overflow == false && n * c < Int(Int32.max),
                  "N·C = \(examples)·\(classes) is too large; reduce --examples or --classes")
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
