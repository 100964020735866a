import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// `fortganguli embed`: the critical embeddings of Zhang et al. (2021) on checkpoints. With
/// `--checkpoint`, widen an MLP by splitting hidden neurons and write the wider network as a normal
/// checkpoint; with `--check`, compare a narrow network and a wider one on a training set: outputs,
/// loss, gradient norm, and with `--spectrum` the counts of negative, zero and positive Hessian eigenvalues.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Split hidden neurons of an MLP checkpoint (--neuron LAYER:INDEX, --to-widths) into a wider checkpoint that computes the same function; or --check NARROW --against WIDE: outputs, loss, gradient norms and (--spectrum) Hessian eigenvalue counts in DIR/summary.json.")

    @Option(help: "The narrow checkpoint to widen (an MLP).") var checkpoint: String?
    @Option(name: .customLong("neuron"), help: "A hidden neuron to split, LAYER:INDEX (layers from 1, neurons from 0); repeat for a multi-step embedding (a later step may split an earlier copy).")
    var neurons: [String] = []
    @Option(name: .customLong("to-widths"), help: "Instead of --neuron: the wider widths to reach (same depth), splitting neurons 0, 1, 2, … of each hidden layer in turn.")
    var toWidths: String?
    @Option(parsing: .unconditional, help: "The copy's share α of the split neuron's outgoing weights (the original keeps 1 − α); any finite number, |α| ≤ 1e6.")
    var alpha = 0.5
    @Option(help: "With --checkpoint: the wider checkpoint to write. With --check: the output folder (default results/embed-check).")
    var output: String?

    @Option(help: "Check mode: the narrow checkpoint.") var check: String?
    @Option(help: "Check mode: the wider checkpoint compared with it.") var against: String?
    @OptionGroup var set: TrainingSetOptions
    @Flag(help: "Check mode: also the dense Hessians' spectra and their counts of negative, zero and positive eigenvalues.") var spectrum = false
    @Option(name: .customLong("zero-threshold"), parsing: .unconditional, help: "An eigenvalue is zero when |λ| ≤ this × max|λ| (in (0, 0.1]).")
    var zeroThreshold = InertiaCounts.defaultRelativeThreshold
    @Option(name: .customLong("critical-threshold"), parsing: .unconditional, help: "A network is at a critical point when its gradient norm is at most this.")
    var criticalThreshold = 1e-8

    func validate() throws {
        switch (checkpoint, check) {
        case (nil, nil): throw ToolError("give --checkpoint NARROW (with --neuron or --to-widths) to embed, or --check NARROW --against WIDE to compare")
        case (.some, .some): throw ToolError("--checkpoint (embed) and --check (compare) are two modes; give one")
        case (.some, nil):
            guard neurons.isEmpty != (toWidths == nil) else { throw ToolError("give either --neuron LAYER:INDEX (repeatable) or --to-widths W, not both or neither") }
            guard output != nil else { throw ToolError("give --output WIDE.safetensors, the checkpoint to write") }
            guard alpha.isFinite && abs(alpha) <= CriticalEmbedding.maximumAlpha else {
                throw ToolError("--alpha is \(alpha); give a finite number of magnitude at most 1e6 (the copy's share of the outgoing weights)")
            }
            if let flag = [("--against", against != nil), ("--spectrum", spectrum), ("--data", set.data != nil),
                           ("--class-subset", set.classSubset != nil), ("--per-class", set.perClass != nil)].first(where: \.1)?.0 {
                throw ToolError("\(flag) belongs to --check; embedding with --checkpoint takes --neuron or --to-widths, --alpha and --output")
            }
        case (nil, .some):
            guard against != nil else { throw ToolError("give --against WIDE, the checkpoint to compare with --check") }
            if let flag = [("--neuron", !neurons.isEmpty), ("--to-widths", toWidths != nil)].first(where: \.1)?.0 {
                throw ToolError("\(flag) belongs to embedding with --checkpoint, not to --check")
            }
            guard zeroThreshold.isFinite && zeroThreshold > 0 && zeroThreshold <= 0.1 else {
                throw ToolError("--zero-threshold is \(zeroThreshold); give a relative threshold in (0, 0.1] (the default 1e-9 sits in the gap between round-off and genuine eigenvalues)")
            }
            guard criticalThreshold.isFinite && criticalThreshold >= 0 else {
                throw ToolError("--critical-threshold is \(criticalThreshold); give a gradient norm ≥ 0")
            }
        }
    }

    func run() throws {
        if let narrow = checkpoint { try embed(narrow) } else { try compare(check!, against!) }
    }

    // MARK: embedding

    static func read(_ path: String, flag: String) throws -> (network: Network, metadata: [String: String], widths: [Int]) {
        do {
            let (net, metadata) = try Checkpoint.read(URL(fileURLWithPath: path))
            return (net, metadata, try CriticalEmbedding.widths(net.architecture))
        } catch let error as NetworkError {
            throw ToolError("\(flag) \(path): \(error)")
        }
    }

    /// "1:0" → the neuron, or a one-line error naming --neuron.
    static func parse(neuron text: String) throws -> HiddenNeuron {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let l = Int(parts[0]), let i = Int(parts[1]) else {
            throw ToolError("--neuron \(text) is not LAYER:INDEX (e.g. 1:0, the first neuron of the first hidden layer)")
        }
        return HiddenNeuron(layer: l, index: i)
    }

    /// Metadata that described the narrow network's training and no longer holds word for word.
    static let staleKeys: Set<String> = ["step", "train_loss", "train_accuracy", "gradient_norm"]

    func embed(_ path: String) throws {
        let (narrow, metadata, from) = try EmbedCommand.read(path, flag: "--checkpoint")
        let steps: [SplitStep]
        if let target = toWidths {
            let parts = target.split(separator: ",", omittingEmptySubsequences: false)
            let to = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard to.count == parts.count, !to.isEmpty else { throw ToolError("--to-widths \(target) is not a comma-separated list of sizes (e.g. 1,4,1)") }
            do { steps = try CriticalEmbedding.steps(from: from, to: to, alpha: alpha) } catch let error as NetworkError {
                throw ToolError("--to-widths \(target): \(error)")
            }
            guard !steps.isEmpty else { throw ToolError("--to-widths \(target) are the network's own widths; there is nothing to add") }
        } else {
            steps = try neurons.map { SplitStep(neuron: try EmbedCommand.parse(neuron: $0), alpha: alpha) }
        }
        var wide = narrow
        for (k, step) in steps.enumerated() {
            do { wide = try CriticalEmbedding.split(wide, neuron: step.neuron, alpha: step.alpha) } catch let error as NetworkError {
                let which = toWidths == nil ? "--neuron \(neurons[k])" : "step \(k + 1) of --to-widths"
                throw ToolError("\(which): \(error)\(k > 0 ? " (after \(k) earlier split\(k == 1 ? "" : "s"))" : "")")
            }
        }
        let url = URL(fileURLWithPath: output!).standardizedFileURL
        let source = URL(fileURLWithPath: path).standardizedFileURL
        guard url.resolvingSymlinksInPath() != source.resolvingSymlinksInPath() else {
            throw ToolError("--output \(output!) is the narrow checkpoint itself; write the wider network to another file")
        }
        try EmbedCommand.checkReplaceable(url, shownAs: output!)
        var out = metadata.filter { !EmbedCommand.staleKeys.contains($0.key) }
        let earlier = metadata["embedding_steps"].flatMap(SplitStep.decode) ?? []
        out["embedding_steps"] = SplitStep.encode(earlier + steps)
        out["embedded_from_widths"] = metadata["embedded_from_widths"] ?? from.map(String.init).joined(separator: ",")
        // Written atomically (a temporary file renamed into place) under the folder's lock.
        let folder = url.deletingLastPathComponent()
        try OutputFolder.makeDirectories(folder, shownAs: folder.path)
        try FolderLock.acquire(folder, shownAs: folder.path)
        try EmbedCommand.checkReplaceable(url, shownAs: output!)
        do { try Checkpoint.write(wide, metadata: out, to: url) } catch let error as NetworkError { throw ToolError(error.description) }
        let to = try CriticalEmbedding.widths(wide.architecture)
        print("embed: widths \(from.map(String.init).joined(separator: ",")) → \(to.map(String.init).joined(separator: ",")) by \(steps.count) split\(steps.count == 1 ? "" : "s") (\(steps.map(\.description).joined(separator: ", "))); wrote \(url.path)")
    }

    /// The wide checkpoint may replace only a file this command wrote (one recording embedding steps).
    static func checkReplaceable(_ url: URL, shownAs path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return }
        guard !isDir.boolValue else { throw ToolError("--output \(path) is a folder; give the path of the checkpoint file to write") }
        guard let (_, metadata) = try? Checkpoint.read(url), metadata["embedding_steps"] != nil else {
            throw ToolError("--output \(path) exists and was not written by fortganguli embed; choose another file (it is left as it is)")
        }
    }

    // MARK: checking

    func compare(_ narrowPath: String, _ widePath: String) throws {
        let narrow = try EmbedCommand.read(narrowPath, flag: "--check"), wide = try EmbedCommand.read(widePath, flag: "--against")
        let loss: Loss
        do {
            loss = try Checkpoint.loss(narrow.metadata, path: narrowPath)
            let wideLoss = try Checkpoint.loss(wide.metadata, path: widePath)
            guard loss == wideLoss else {
                throw ToolError("--check \(narrowPath) was trained with the \(loss) loss but --against \(widePath) records \(wideLoss); compare networks of one loss")
            }
        } catch let error as NetworkError { throw ToolError(error.description) }
        guard narrow.widths.first == wide.widths.first, narrow.widths.last == wide.widths.last, narrow.widths.count == wide.widths.count else {
            throw ToolError("--check has widths \(narrow.widths.map(String.init).joined(separator: ",")) and --against \(wide.widths.map(String.init).joined(separator: ",")); compare networks of one depth, input and output size")
        }
        guard let trainingSet = set.resolved(fallback: TrainingSet(metadata: narrow.metadata)) else {
            throw ToolError("--check \(narrowPath) does not record its training set; give --data (and --class-subset, --per-class as it was trained)")
        }
        let data = try trainingSet.load()
        guard data.features == narrow.widths.first, outputs(of: data) == narrow.widths.last else {
            throw ToolError("the networks take \(narrow.widths.first!) inputs and give \(narrow.widths.last!) outputs but --data \(trainingSet.data) has \(data.features) inputs and needs \(outputs(of: data)) outputs; use the data they were trained on")
        }
        _ = try embeddingLoss(loss.name, for: data)
        if spectrum {
            let parts = DenseHessian.memoryParts(architecture: wide.network.architecture, examples: data.count)
                + DenseHessian.memoryParts(architecture: narrow.network.architecture, examples: 0)
            try Memory.require(parts, for: "the dense Hessians", remedy: "drop --spectrum or compare smaller networks")
        }
        let folder = try OutputFolder(output ?? "results/embed-check")
        defer { folder.abandon() }
        let clock = Date()
        let batch = FullBatch(data: data, loss: loss)
        let zn = narrow.network.logits(batch.inputs), zw = wide.network.logits(batch.inputs)
        let difference = zn.maxAbsDifference(zw)
        let (ln, lw) = (batch.value(narrow.network), batch.value(wide.network))
        let (gn, gw) = (batch.gradientNorm(narrow.network), batch.gradientNorm(wide.network))
        let replay = EmbedCommand.replay(narrow: narrow, wide: wide)
        var fields: [(String, JSON)] = [
            ("narrow", .string(narrowPath)), ("wide", .string(widePath)),
            ("widths_narrow", .string(narrow.widths.map(String.init).joined(separator: ","))),
            ("widths_wide", .string(wide.widths.map(String.init).joined(separator: ","))),
            ("activation", .string(narrow.network.architecture.activation.rawValue)), ("loss", .string(loss.name))]
            + trainingSet.manifest + [
            ("examples", .integer(data.count)), ("parameters_narrow", .integer(narrow.network.parameters.count)),
            ("parameters_wide", .integer(wide.network.parameters.count)),
            ("embedding_steps", replay.map { .string(SplitStep.encode($0)) } ?? .null),
            ("max_logit_difference", .number(difference)), ("max_logit_relative_difference", .number(difference / max(zn.maxAbs, .leastNormalMagnitude))),
            ("loss_narrow", .number(ln)), ("loss_wide", .number(lw)),
            ("gradient_norm_narrow", .number(gn)), ("gradient_norm_wide", .number(gw)),
            ("critical_threshold", .number(criticalThreshold)), ("narrow_critical", .bool(gn <= criticalThreshold)),
            ("wide_critical", .bool(gw <= criticalThreshold))]
        var line = String(format: "embed --check: max |Δ logits| %.3g, loss %.9g → %.9g, gradient norm %.3g → %.3g", difference, ln, lw, gn, gw)
        line += gn <= criticalThreshold ? (gw <= criticalThreshold ? " (both critical, ≤ \(formatNumber(criticalThreshold)))" : " (the narrow one only is critical)") : ""
        if spectrum {
            let hn = batch.hessian(narrow.network), hw = batch.hessian(wide.network)
            let (en, ew) = (try hn.eigenvalues(), try hw.eigenvalues())
            let cn = InertiaCounts(eigenvalues: en, relativeThreshold: zeroThreshold), cw = InertiaCounts(eigenvalues: ew, relativeThreshold: zeroThreshold)
            var predicted: (negative: Int, zero: Int, positive: Int)? = nil
            if let steps = replay {
                let scale = ew.map(abs).max() ?? 0
                var total = (cn.negative, cn.zero, cn.positive)
                var current = narrow.network
                for step in steps {
                    let block = try CriticalEmbedding.splitBlock(current, neuron: step.neuron, alpha: step.alpha, inputs: batch.inputs,
                                                                 labels: batch.labels, loss: loss, targets: batch.targets)
                    let c = InertiaCounts(eigenvalues: try Eigen.symmetric(block, vectors: false).values, relativeThreshold: zeroThreshold, scale: scale)
                    total = (total.0 + c.negative, total.1 + c.zero, total.2 + c.positive)
                    current = try CriticalEmbedding.split(current, neuron: step.neuron, alpha: step.alpha)
                }
                predicted = total
            }
            fields += [("zero_threshold", .number(zeroThreshold))]
            for (name, counts, values, net) in [("narrow", cn, en, narrow.network), ("wide", cw, ew, wide.network)] {
                fields += [("negative_\(name)", .integer(counts.negative)), ("zero_\(name)", .integer(counts.zero)),
                           ("positive_\(name)", .integer(counts.positive)), ("max_abs_eigenvalue_\(name)", .number(values.map(abs).max() ?? 0)),
                           ("largest_zero_\(name)", .number(counts.largestZero)), ("smallest_nonzero_\(name)", .number(counts.smallestNonzero)),
                           ("relu_rescaling_zeros_\(name)", .integer(try CriticalEmbedding.reluRescalingZeros(net)))]
            }
            fields += [("predicted_negative_wide", predicted.map { .integer($0.negative) } ?? .null),
                       ("predicted_zero_wide", predicted.map { .integer($0.zero) } ?? .null),
                       ("predicted_positive_wide", predicted.map { .integer($0.positive) } ?? .null),
                       ("hessian_asymmetry", .number(max(hn.asymmetry, hw.asymmetry)))]
            try folder.write("narrow_spectrum.npy", NPY.encode(en))
            try folder.write("wide_spectrum.npy", NPY.encode(ew))
            line += "; Hessian (negative, zero, positive): (\(cn.negative), \(cn.zero), \(cn.positive)) → (\(cw.negative), \(cw.zero), \(cw.positive))"
            if let p = predicted { line += ", predicted (\(p.negative), \(p.zero), \(p.positive))" }
            line += String(format: ", zero: |λ| ≤ %@·max|λ|", formatNumber(zeroThreshold))
        }
        fields.append(("seconds", .number(Date().timeIntervalSince(clock))))
        try folder.write("summary.json", JSON.object(fields).data)
        try folder.commit()
        print(line)
        print("wrote \(folder.url.path)/{summary.json\(spectrum ? ",narrow_spectrum.npy,wide_spectrum.npy" : "")}")
    }

    /// The splitting steps that turn the narrow network into the wide one, read from the wide
    /// checkpoint's record (minus the narrow one's own, if it is itself an embedding) and checked by
    /// replaying them; nil when the record is missing or does not reproduce the wide network.
    static func replay(narrow: (network: Network, metadata: [String: String], widths: [Int]),
                       wide: (network: Network, metadata: [String: String], widths: [Int])) -> [SplitStep]? {
        guard let all = wide.metadata["embedding_steps"].flatMap(SplitStep.decode) else { return nil }
        let own = narrow.metadata["embedding_steps"].flatMap(SplitStep.decode) ?? []
        guard own.count <= all.count, Array(all.prefix(own.count)) == own else { return nil }
        let steps = Array(all.dropFirst(own.count))
        guard let rebuilt = try? CriticalEmbedding.split(narrow.network, steps: steps),
              rebuilt.architecture == wide.network.architecture, rebuilt.parameters == wide.network.parameters else { return nil }
        return steps
    }
}
