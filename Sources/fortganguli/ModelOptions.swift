import ArgumentParser
import FortGanguli
import Reports

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

/// A number given to a model command, kept as the text the user typed: the parser accepts any
/// token, and `whole`, `real` and `seed` turn it into a value or a ONE-LINE `ToolError` that names
/// the flag as typed and what it takes. (ArgumentParser's own rejection of a value — "nan" for a
/// count, "-1" or 2⁶⁴ for a seed — prints its help and usage over several lines.) Every numeric
/// option of simulate, sweep, phase, theory and reproduce parses through this one type.
struct Number: ExpressibleByArgument, Sendable {
    let text: String
    init(_ value: Int) { text = String(value) }
    init(_ value: Double) { text = "\(value)" }
    init(_ value: UInt64) { text = String(value) }
    init?(argument: String) { text = argument }
    var defaultValueDescription: String { text }

    /// A whole number in `Int`'s range; `1e9` notation is accepted when it is exact.
    func whole(_ flag: String) throws -> Int {
        if let i = Int(text) { return i }
        if let d = Double(text), d.isFinite, d == d.rounded(), let i = Int(exactly: d) { return i }
        throw ToolError("\(flag) is \(text); give a whole number (1e3 notation is fine) below 9.2e18")
    }

    /// A whole number in `range`.
    func whole(_ flag: String, in range: ClosedRange<Int>, _ why: String = "") throws -> Int {
        let bounds = range.upperBound == Int.max ? "of at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
        guard let i = try? whole(flag), range.contains(i) else { throw ToolError("\(flag) is \(text); give a whole number \(bounds)\(why)") }
        return i
    }

    /// A finite real number (ranges are checked where the value is used: the model's σ's by
    /// `ModelConfiguration.validate`, grids by the commands).
    func real(_ flag: String) throws -> Double {
        guard let d = Double(text), d.isFinite else { throw ToolError("\(flag) is \(text); give a finite number") }
        return d
    }

    /// A finite real number with `low < x ≤ high` (`low ≤ x` when `lowInclusive`).
    func real(_ flag: String, above low: Double, lowInclusive: Bool = false, upTo high: Double, _ why: String = "") throws -> Double {
        let interval = "\(lowInclusive ? "[" : "(")\(formatted(low)), \(formatted(high))]"
        guard let d = Double(text), d.isFinite, lowInclusive ? d >= low : d > low, d <= high else {
            throw ToolError("\(flag) is \(text); give a finite number in \(interval)\(why)")
        }
        return d
    }

    /// A seed: a whole number from 0 to 2⁶⁴ − 1, written exactly (seeds label random streams).
    func seed(_ flag: String) throws -> UInt64 {
        if let u = UInt64(text) { return u }
        if let d = Double(text), d.isFinite, d >= 0, d == d.rounded(), let u = UInt64(exactly: d) { return u }
        throw ToolError("\(flag) is \(text); give a whole number from 0 to \(UInt64.max)")
    }

    private func formatted(_ x: Double) -> String { String(format: "%g", x) }
}

extension HessianVariant: ExpressibleByArgument {}
extension EngineMode: ExpressibleByArgument {}
extension SpectrumMode: ExpressibleByArgument {}

/// The model's parameters, shared by `simulate`, `sweep`, `phase` and `theory`; defaults are the paper's.
struct ModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Number of examples N.") var examples = Number(300)
    @Option(parsing: .unconditional, help: "Number of classes C.") var classes = Number(10)
    @Option(parsing: .unconditional, help: "Number of parameters D (accepts 1e3 notation).") var dimension = Number(1000)
    @Option(name: .customLong("sigma-z"), parsing: .unconditional, help: "Logit standard deviation σ_z, 0 to 1e50.") var sigmaZ = Number(15.0)
    @Option(name: .customLong("sigma-c"), parsing: .unconditional, help: "Class-mean logit-gradient scale σ_c, in units of 1/√D, 0 to 1e50.") var sigmaC = Number(1.0)
    @Option(name: .customLong("sigma-e"), parsing: .unconditional, help: "Residual (within-class) logit-gradient scale σ_e (the paper's σ_E), in units of 1/√D, 0 to 1e50.") var sigmaE = Number(0.7)
    @Option(name: .customLong("sigma-d"), parsing: .unconditional,
            help: "Class-conditional offset scale σ_d (d_{k,y}: one vector per logit and class), in units of 1/√D; 0 is the paper's model.")
    var sigmaD = Number(0.0)
    @Option(name: .customLong("sigma-s"), parsing: .unconditional,
            help: "Own-class extra scale σ_s (s_k added when y = k), in units of 1/√D; 0 is the paper's model.") var sigmaS = Number(0.0)
    @Option(parsing: .unconditional, help: "Fraction of examples labelled with their most probable class, in [0, 1].") var accuracy = Number(0.95)
    @Option(parsing: .unconditional, help: "Hessian: paper (eq. 16) or full (eq. 10 G-term).") var hessian = HessianVariant.paper
    @Option(name: .customLong("length-spread"), parsing: .unconditional,
            help: "Spread s of class-mean lengths, |c_k| ∝ 1 + s(2k/(C−1) − 1), 0 ≤ s < 1.") var lengthSpread = Number(0.0)
    @Option(name: .customLong("hyperplane-dimension"), parsing: .unconditional, help: "Dimension d of the random hyperplane for Trace/‖H‖, 1 to D.")
    var hyperplaneDimension = Number(10)
    @Option(name: .customLong("hyperplanes"), parsing: .unconditional,
            help: "Independent random hyperplanes R, 1 to 10000; the hyperplane Trace/‖H‖ is their mean (1 draws what earlier versions drew).")
    var hyperplanes = Number(1)
    @Option(help: "Engine: dense (D×D reference), gram (m×m, any D) or auto.") var mode = EngineMode.auto
    @Option(help: "Spectrum: full (every eigenvalue; spectra, Fig. 6) or top (the top eigenpairs, bulk edge, exact trace and hyperplanes by block Lanczos on the Bartlett factor; in phase, the noise term reduced once per σ_z and each SNR by inertia; eq. 16, Gram engine at D ≥ m + R·d). Default: top for phase, full elsewhere.")
    var spectrum: SpectrumMode?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "k for gradient power in the top k eigenvectors, 1 to D (default C).")
    var topK: Number?

    /// The configuration these options describe (σ_z and seed set by the caller), validated: every
    /// bad value is a one-line error naming its flag, before anything is written.
    /// `defaultSpectrum` is the command's choice when `--spectrum` is not given.
    func configuration(seed: UInt64, defaultSpectrum: SpectrumMode = .full) throws -> ModelConfiguration {
        var c = ModelConfiguration()
        c.examples = try examples.whole("--examples")
        c.classes = try classes.whole("--classes")
        c.dimension = try dimension.whole("--dimension")
        c.sigmaZ = try sigmaZ.real("--sigma-z")
        c.sigmaC = try sigmaC.real("--sigma-c")
        c.sigmaE = try sigmaE.real("--sigma-e")
        c.sigmaD = try sigmaD.real("--sigma-d")
        c.sigmaS = try sigmaS.real("--sigma-s")
        c.hyperplanes = try hyperplanes.whole("--hyperplanes")
        c.accuracy = try accuracy.real("--accuracy")
        c.hessian = hessian
        c.lengthSpread = try lengthSpread.real("--length-spread")
        c.hyperplaneDimension = try hyperplaneDimension.whole("--hyperplane-dimension")
        c.topK = try topK?.whole("--top-k")
        c.mode = mode
        c.spectrum = spectrum ?? defaultSpectrum
        c.seed = seed
        try c.validate()
        return c
    }

    /// The manifest entries of a configuration made from these options: every option that changes
    /// a row, keyed by its long flag with `_` for `-` (a resumed table is refused when one differs).
    /// A new model option is added here, beside `configuration(seed:)`.
    static func manifest(_ c: ModelConfiguration) -> [(String, JSON)] {
        [("examples", .integer(c.examples)), ("classes", .integer(c.classes)), ("dimension", .integer(c.dimension)),
         ("sigma_z", .number(c.sigmaZ)), ("sigma_c", .number(c.sigmaC)), ("sigma_e", .number(c.sigmaE)),
         ("sigma_d", .number(c.sigmaD)), ("sigma_s", .number(c.sigmaS)), ("accuracy", .number(c.accuracy)),
         ("hessian", .string(c.hessian.rawValue)), ("length_spread", .number(c.lengthSpread)),
         ("hyperplane_dimension", .integer(c.hyperplaneDimension)), ("hyperplanes", .integer(c.hyperplanes)),
         ("top_k", .integer(c.gradientPowerK)), ("mode", .string(c.mode.rawValue)),
         ("spectrum", .string(c.spectrum.rawValue))]
    }

    /// The library's memory check with the quantities to lower named by these flags
    /// (`extra` names the command's own, e.g. `--limit-examples`).
    static func checkMemory(_ estimate: MemoryEstimate) throws {
        do { try estimate.check() } catch let e as ResourceError { throw ToolError(e.message(naming: flag)) }
    }

    /// A run of `config` fits: the engine's limits and `MemoryEstimate.simulation`, before any output exists.
    static func checkResources(_ config: ModelConfiguration, gramStatistics: Bool = false, theory: Bool = false) throws {
        do { try ModelSimulation.checkResources(config, gramStatistics: gramStatistics, theory: theory) }
        catch let e as ResourceError { throw ToolError(e.message(naming: flag)) }
    }

    static func flag(_ q: MemoryEstimate.Quantity) -> String {
        switch q {
        case .examples: return "--examples"
        case .classes: return "--classes"
        case .dimension: return "--dimension"
        case .hyperplanes: return "--hyperplane-dimension or --hyperplanes"
        case .theoryExamples: return "--limit-examples"
        case .densityPoints: return "--density-points"
        }
    }
}
