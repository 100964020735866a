import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// `fortganguli jamming-spectrum`: the Hessian of a hinge-loss network at the end of a jamming run
/// split into H₀ and H_p (all eigenvalues), every pattern's overlap Δ, N, N_eff and the zero modes
/// of H₀. The training set is rebuilt from the checkpoint's metadata.
struct JammingSpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jamming-spectrum",
        abstract: "All eigenvalues of H, H₀ (exact, from the Gram of the unsatisfied patterns) and H_p = H − H₀ of a jamming checkpoint, every Δ, N_eff and H₀'s zero modes (h.npy, h0.npy, hp.npy, delta.npy, patterns.npy, labels.npy, summary.json).")

    @Option(help: "A checkpoint written by `fortganguli jamming` (RUN/runs/point-…/model.safetensors).") var checkpoint: String
    @Option(help: "random, fashion-mnist-pca or fashion-mnist-pca:DIR; must be the checkpoint's kind (default: as the checkpoint records, folder included).")
    var data: String?
    @Option(parsing: .unconditional, help: "Input directions u a pattern for N_eff, the rank of ∇_W f(x_μ) and ∇_W(∇_x f(x_μ)·u) (0: enough for P(1 + k) ≥ 1.5·D, at most d).")
    var directions = Count(0)
    @Option(help: "Seed of the input directions.") var seed: UInt64 = 0
    @Option(help: "Output folder.") var output = "results/jamming-spectrum"

    func validate() throws {
        guard directions.value >= 0 && directions.value <= 100_000 else {
            throw ToolError("--directions is \(directions.value); give 0 (automatic) to 100000")
        }
    }

    func run() throws {
        keepFreedMemory()
        let clock = Date()
        // Everything is checked before any output exists.
        let network: Network, metadata: [String: String]
        do { (network, metadata) = try Checkpoint.read(URL(fileURLWithPath: checkpoint)) } catch let error as NetworkError {
            throw ToolError(error.description)
        }
        let arch = network.architecture
        let loss: Loss
        do { loss = try Checkpoint.loss(metadata, path: checkpoint) } catch let error as NetworkError { throw ToolError(error.description) }
        guard case let .quadraticHinge(margin) = loss, arch.classes == 1 else {
            throw ToolError("checkpoint \(checkpoint) has \(arch.classes) output\(arch.classes == 1 ? "" : "s") and was trained with \(loss.name); jamming-spectrum needs a one-output hinge-loss network (made by fortganguli jamming)")
        }
        guard arch.kind == .mlp else { throw ToolError("checkpoint \(checkpoint) is a \(arch.kind.rawValue); jamming-spectrum takes the fully connected networks of fortganguli jamming") }
        let spec: JammingDataSpec
        do {
            guard let s = try JammingDataSpec(metadata: metadata, path: checkpoint) else {
                throw ToolError("checkpoint \(checkpoint) records no jamming training set (jamming_data metadata); use a checkpoint written by fortganguli jamming")
            }
            spec = s
        } catch let error as NetworkError { throw ToolError(error.description) }
        var folder = spec.source.map { URL(fileURLWithPath: $0) }
        if let data {
            let choice = try JammingDataChoice(data)
            guard choice.kind == spec.kind else {
                throw ToolError("--data \(data) differs from the checkpoint's training set (\(spec.kind.rawValue)); give --data \(spec.kind.rawValue) or leave it out")
            }
            if let f = choice.folder { folder = f }
        }
        guard spec.dimension == arch.inputs else {
            throw ToolError("checkpoint \(checkpoint) records d = \(spec.dimension) inputs but its network takes \(arch.inputs); the file is corrupt")
        }
        let d = arch.parameterCount
        let k = directions.value > 0 ? directions.value
            : EffectiveParameters.directions(parameters: d, examples: spec.examples, inputs: spec.dimension)
        try Memory.require(JammingSpectrum.memoryParts(architecture: arch, examples: spec.examples)
                           + EffectiveParameters.memoryParts(parameters: d, examples: spec.examples, directionsPerPattern: k),
                           for: "the dense Hessians of \(d) parameters", remedy: "use a smaller network (D² doubles a dense matrix) or --directions 1")
        let source = try JammingDataChoice(kind: spec.kind, folder: folder).source(dimension: spec.dimension)
        guard spec.examples <= source.capacity else {
            throw ToolError("checkpoint \(checkpoint) was trained on P = \(spec.examples) patterns but the data holds \(source.capacity); point --data at the folder it was trained on")
        }
        let set = try source.dataset(examples: spec.examples, seed: spec.seed)
        let out = try OutputFolder(output)

        let spectrum = try JammingSpectrum(network: network, data: set, margin: margin)
        let effective = try EffectiveParameters(network: network, inputs: set.inputs, directionsPerPattern: k, seed: seed)
        let fit = spectrum.fit
        let hp = SpectrumSymmetry(spectrum.hp, zero: 1e-10 * spectrum.hp.map(abs).max()!)
        let hSym = SpectrumSymmetry(spectrum.h, zero: 1e-10 * spectrum.h.map(abs).max()!)
        let gaps = GapExponents(runs: [(fit.deltas, fit.loss)])
        func number(_ x: Double?) -> JSON { x.map { .number($0) } ?? .null }
        let summary = JSON.object([
            ("checkpoint", .string(checkpoint)), ("data", .string(spec.kind.rawValue)), ("input_dimension", .integer(spec.dimension)),
            ("data_seed", .unsigned(spec.seed)), ("data_source", spec.source.map { .string($0) } ?? .null),
            ("widths", .string(arch.spec["widths"] ?? "")), ("margin", .number(margin)),
            ("parameters", .integer(spectrum.parameters)), ("parameters_total", .integer(d)),
            ("parameters_effective", .integer(effective.rank)), ("rescaling_directions", .integer(d - spectrum.parameters)),
            ("effective_directions_per_pattern", .integer(effective.directionsPerPattern)), ("effective_vectors", .integer(effective.vectors)),
            ("effective_rank_threshold", .number(effective.threshold)),
            ("examples", .integer(spectrum.examples)), ("r", .number(Double(spectrum.examples) / Double(spectrum.parameters))),
            ("n_delta", .integer(fit.unsatisfied)), ("n_delta_over_n", .number(Double(fit.unsatisfied) / Double(spectrum.parameters))),
            ("n_delta_at_training", metadata["n_delta"].flatMap(Int.init).map { .integer($0) } ?? .null),
            ("loss", .number(fit.loss)), ("misclassified", .integer(fit.misclassified)),
            ("h0_rank", .integer(spectrum.h0Rank)), ("h0_zero_modes", .integer(spectrum.h0ZeroModes)),
            ("h0_zero_modes_effective", .integer(spectrum.h0ZeroModesEffective)), ("h0_zero_threshold", .number(spectrum.zeroThreshold)),
            ("h0_largest", number(spectrum.h0.first)), ("h0_smallest_nonzero", number(spectrum.h0.last { $0 > spectrum.zeroThreshold })),
            ("hp_first_moment", .number(hp.first)), ("hp_first_moment_standard_error", number(hp.firstStandardError)),
            ("hp_third_moment", .number(hp.third)), ("hp_third_moment_standard_error", number(hp.thirdStandardError)),
            ("hp_negative_fraction", .number(hp.negativeFraction)), ("hp_positive_fraction", .number(hp.positiveFraction)),
            ("hp_mirror_distance", .number(hp.mirrorDistance)), ("hp_mirror_critical_value", .number(hp.mirrorCriticalValue)),
            ("h_negative_fraction", .number(hSym.negativeFraction)), ("h_largest", number(spectrum.h.first)), ("h_smallest", number(spectrum.h.last)),
            ("theta", number(gaps.theta?.exponent)), ("theta_standard_error", number(gaps.theta?.standardError)),
            ("gamma", number(gaps.gammaValue)), ("gamma_standard_error", number(gaps.gamma?.standardError)),
            ("seconds", .number(Date().timeIntervalSince(clock))),
        ])
        try out.write("h0.npy", NPY.encode(spectrum.h0))
        try out.write("hp.npy", NPY.encode(spectrum.hp))
        try out.write("h.npy", NPY.encode(spectrum.h))
        try out.write("delta.npy", NPY.encode(fit.deltas))
        // The rebuilt training set, so the spectra can be checked independently (P × d, one row a pattern; y = ±1).
        try out.write("patterns.npy", NPY.encode(set.inputs.storage, shape: [set.count, set.features]))
        try out.write("labels.npy", NPY.encode(set.labels.map { Loss.sign(ofLabel: $0) }))
        try out.write("summary.json", summary.data)
        try out.commit()
        print(String(format: "jamming-spectrum: N = %d (D = %d, N_eff = %d), P = %d, N_Δ = %d, H₀ zero modes %d (N − rank %d), loss %.3g; %@",
                     spectrum.parameters, d, effective.rank, spectrum.examples, fit.unsatisfied, spectrum.h0ZeroModes,
                     spectrum.h0ZeroModesEffective, fit.loss, out.url.path))
    }
}
