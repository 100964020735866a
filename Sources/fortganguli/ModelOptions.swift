import ArgumentParser
import FortGanguli

/// A count that also accepts scientific notation (`1e9`), as long as it is a whole number.
struct Count: ExpressibleByArgument, Sendable {
    var value: Int
    init(_ value: Int) { self.value = value }
    init?(argument: String) {
        if let i = Int(argument) { value = i; return }
        guard let d = Double(argument), d.isFinite, d == d.rounded(), abs(d) < 9.2e18 else { return nil }
        value = Int(d)
    }
    var defaultValueDescription: String { String(value) }
}

extension HessianVariant: ExpressibleByArgument {}
extension EngineMode: ExpressibleByArgument {}

/// The model's parameters, shared by `simulate` and `sweep`; defaults are the paper's.
struct ModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Number of examples N.") var examples = Count(300)
    @Option(parsing: .unconditional, help: "Number of classes C.") var classes = Count(10)
    @Option(parsing: .unconditional, help: "Number of parameters D (accepts 1e3 notation).") var dimension = Count(1000)
    @Option(name: .customLong("sigma-z"), parsing: .unconditional, help: "Logit standard deviation σ_z.") var sigmaZ = 15.0
    @Option(name: .customLong("sigma-c"), parsing: .unconditional, help: "Class-mean logit-gradient scale σ_c, in units of 1/√D.") var sigmaC = 1.0
    @Option(name: .customLong("sigma-e"), parsing: .unconditional, help: "Residual (within-class) logit-gradient scale σ_e (the paper's σ_E), in units of 1/√D.") var sigmaE = 0.7
    @Option(name: .customLong("sigma-d"), parsing: .unconditional,
            help: "Class-conditional offset scale σ_d (d_{k,y}: one vector per logit and class), in units of 1/√D; 0 is the paper's model.")
    var sigmaD = 0.0
    @Option(name: .customLong("sigma-s"), parsing: .unconditional,
            help: "Own-class extra scale σ_s (s_k added when y = k), in units of 1/√D; 0 is the paper's model.") var sigmaS = 0.0
    @Option(parsing: .unconditional, help: "Fraction of examples labelled with their most probable class.") var accuracy = 0.95
    @Option(parsing: .unconditional, help: "Hessian: paper (eq. 16) or full (eq. 10 G-term).") var hessian = HessianVariant.paper
    @Option(name: .customLong("length-spread"), parsing: .unconditional,
            help: "Spread s of class-mean lengths, |c_k| ∝ 1 + s(2k/(C−1) − 1), 0 ≤ s < 1.") var lengthSpread = 0.0
    @Option(name: .customLong("hyperplane-dimension"), parsing: .unconditional, help: "Dimension d of the random hyperplane for Trace/‖H‖.")
    var hyperplaneDimension = Count(10)
    @Option(name: .customLong("hyperplanes"), parsing: .unconditional,
            help: "Independent random hyperplanes R; the hyperplane Trace/‖H‖ is their mean (1 draws what earlier versions drew).")
    var hyperplanes = Count(1)
    @Option(help: "Engine: dense (D×D reference), gram (m×m, any D) or auto.") var mode = EngineMode.auto
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "k for gradient power in the top k eigenvectors (default C).")
    var topK: Count?

    /// The configuration these options describe (σ_z and seed set by the caller).
    func configuration(seed: UInt64) -> ModelConfiguration {
        var c = ModelConfiguration()
        c.examples = examples.value
        c.classes = classes.value
        c.dimension = dimension.value
        c.sigmaZ = sigmaZ
        c.sigmaC = sigmaC
        c.sigmaE = sigmaE
        c.sigmaD = sigmaD
        c.sigmaS = sigmaS
        c.hyperplanes = hyperplanes.value
        c.accuracy = accuracy
        c.hessian = hessian
        c.lengthSpread = lengthSpread
        c.hyperplaneDimension = hyperplaneDimension.value
        c.topK = topK?.value
        c.mode = mode
        c.seed = seed
        return c
    }
}
