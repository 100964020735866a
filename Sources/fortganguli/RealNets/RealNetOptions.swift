import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

extension Activation: ExpressibleByArgument {}
extension Optimizer: ExpressibleByArgument {}

/// Where the data comes from and which classes to keep; shared by every real-network command.
struct DataOptions: ParsableArguments {
    @Option(help: "fashion-mnist (Debian's dataset-fashion-mnist), mnist:DIR, cifar10:DIR, sphere, mixture, a folder of IDX files, or fit1d[:N] (the 1-D fitting set of the embedding commands, N points, default 20).")
    var data = "fashion-mnist"
    @Option(name: .customLong("class-subset"), help: "Keep only these classes, relabelled in this order (e.g. 0,1,2).")
    var classSubset: String?

    /// Loads the split, applying the class subset. A regression set (`fit1d`, real-valued targets)
    /// is refused unless the command fits targets (`regression: true`). A command that keeps only the
    /// first n examples of each class (`Dataset.balanced`) passes `firstPerClass` n, so IDX files
    /// convert only those (a superset of what the class subset and `balanced` keep, which they then
    /// apply unchanged).
    func load(test: Bool = false, regression: Bool = false, firstPerClass: Int? = nil) throws -> Dataset {
        var d: Dataset
        if data == "fit1d" || data.hasPrefix("fit1d:") {
            guard regression else {
                throw ToolError("--data \(data) is a regression set (real-valued targets); this command needs labelled classes; use it with fortganguli critical, condense or embed --check")
            }
            let n: Int
            if data == "fit1d" { n = 20 } else {
                guard let k = Int(data.dropFirst(6)), k >= 2, k <= CurveFit.maximumExamples else {
                    throw ToolError("--data \(data): give fit1d:N with N points, 2 to \(CurveFit.maximumExamples)")
                }
                n = k
            }
            guard classSubset == nil else { throw ToolError("--class-subset does not apply to --data \(data), a regression set with no classes") }
            return test ? try CurveFit.teacher(examples: 201) : try CurveFit.teacher(examples: n)
        }
        switch data {
        case "fashion-mnist": d = try IDX.load(folder: IDX.debianFashionMNIST, split: test ? .test : .train, firstPerClass: firstPerClass)
        case "sphere": d = try Synthetic.sphere(examples: test ? 1000 : 5000, dimension: 784, classes: 10, seed: test ? 1 : 0)
        case "mixture": d = try Synthetic.mixture(examples: test ? 1000 : 5000, dimension: 784, classes: 10, separation: 1, seed: test ? 1 : 0)
        default:
            if data.hasPrefix("mnist:") {
                d = try IDX.load(folder: URL(fileURLWithPath: String(data.dropFirst(6))), split: test ? .test : .train,
                             firstPerClass: firstPerClass)
            } else if data.hasPrefix("cifar10:") {
                d = try CIFAR10.load(folder: URL(fileURLWithPath: String(data.dropFirst(8))), split: test ? .test : .train)
            } else {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: data, isDirectory: &isDir), isDir.boolValue else {
                    throw ToolError("--data \(data) is neither a known data set (fashion-mnist, mnist:DIR, cifar10:DIR, sphere, mixture, fit1d[:N]) nor a folder of IDX files")
                }
                d = try IDX.load(folder: URL(fileURLWithPath: data), split: test ? .test : .train, firstPerClass: firstPerClass)
            }
        }
        if let s = classSubset {
            let classes = s.split(separator: ",", omittingEmptySubsequences: false).compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !classes.isEmpty, classes.count == s.split(separator: ",", omittingEmptySubsequences: false).count else {
                throw ToolError("--class-subset \(s) is not a comma-separated list of class numbers (e.g. 0,1,2)")
            }
            guard classes.count >= 2 else { throw ToolError("--class-subset \(s) keeps one class; list at least 2 (e.g. 0,1)") }
            do { d = try d.subset(classes: classes) } catch let error as DataError {
                throw ToolError("--class-subset \(s): \(error)")
            }
        }
        return d
    }

    /// Manifest entries: the data set and the classes kept.
    var manifest: [(String, JSON)] { [("data", .string(data)), ("class_subset", .string(classSubset ?? ""))] }
}

/// The network's architecture, shared by `train` and `scale-sweep`.
struct ArchitectureOptions: ParsableArguments {
    @Option(help: "mlp or cnn.") var arch = "mlp"
    @Option(help: "MLP widths, input to output (the first must match the data, the last the classes).") var widths = "784,256,256,10"
    @Option(help: "CNN convolution widths (1 to 3 layers).") var channels = "8,16"
    @Option(parsing: .unconditional, help: "CNN hidden dense width.") var hidden = Count(64)
    @Option(help: "relu or tanh.") var activation = Activation.relu

    /// The architecture for `data`, with `loss.outputs(classes:)` outputs (one for the binary losses).
    func architecture(for data: Dataset, loss: Loss = .crossEntropy) throws -> Architecture {
        if let why = loss.unsuitability(classes: data.classes) { throw ToolError("--loss \(loss.name): \(why)") }
        let outputs = loss.outputs(classes: data.classes)
        let what = loss.isBinary ? "the \(loss.name) loss needs 1 output" : "the data has \(data.classes) classes"
        func ints(_ s: String, _ flag: String) throws -> [Int] {
            let parts = s.split(separator: ",", omittingEmptySubsequences: false)
            let xs = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !xs.isEmpty, xs.count == parts.count else { throw ToolError("\(flag) \(s) is not a comma-separated list of sizes (e.g. 784,256,10)") }
            if let bad = xs.first(where: { $0 < 1 }) { throw ToolError("\(flag) \(s) has size \(bad); every size must be at least 1") }
            return xs
        }
        switch arch {
        case "mlp":
            var w = try ints(widths, "--widths")
            guard w.first == data.inputs.rows else {
                throw ToolError("--widths starts with \(w.first!) but the data has \(data.inputs.rows) inputs; start it with \(data.inputs.rows)")
            }
            if w.last != outputs && widths == "784,256,256,10" { w[w.count - 1] = outputs }
            guard w.last == outputs else {
                throw ToolError("--widths ends with \(w.last!) but \(what); end it with \(outputs)")
            }
            return try Architecture.mlp(widths: w, activation: activation)
        case "cnn":
            guard hidden.value >= 1 else { throw ToolError("--hidden is \(hidden.value); give a width of at least 1") }
            guard let shape = data.imageShape, shape.height == shape.width else {
                throw ToolError("--arch cnn needs square images; this data set has none (use --arch mlp)")
            }
            return try Architecture.cnn(inputChannels: shape.channels, side: shape.height, channels: ints(channels, "--channels"),
                                        hidden: hidden.value, classes: outputs, activation: activation)
        default:
            throw ToolError("--arch is \(arch); use mlp or cnn")
        }
    }

    /// Manifest entries of an architecture built by `architecture(for:)`: the flags that define it
    /// (widths as resolved against the data), in alphabetical order.
    static func manifest(_ a: Architecture) -> [(String, JSON)] {
        let flags: Set<String> = ["activation", "arch", "channels", "hidden", "widths"]
        return a.spec.filter { flags.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }
    }
}

