import ArgumentParser
import Foundation
import Reports
import Linalg
import RealNets

/// The fixed training set of the embedding commands (`critical`, `condense`, `embed --check`): a data
/// set, its class subset, and for a classification set the first n examples of each class. It is
/// recorded in the checkpoints these commands write (`metadata`), so `embed --check` can default to
/// the set a narrow network was trained on.
struct TrainingSet: Equatable {
    var data: String
    var classSubset: String?
    var perClass: Int?

    /// Metadata keys of a checkpoint that record its training set.
    static let keys = ["data", "class_subset", "per_class"]

    /// The set recorded in checkpoint metadata, or nil if none is.
    init?(metadata: [String: String]) {
        guard let data = metadata["data"], !data.isEmpty else { return nil }
        self.data = data
        classSubset = metadata["class_subset"].flatMap { $0.isEmpty ? nil : $0 }
        perClass = metadata["per_class"].flatMap { Int($0) }
    }

    init(data: String, classSubset: String?, perClass: Int?) {
        (self.data, self.classSubset, self.perClass) = (data, classSubset, perClass)
    }

    var metadata: [String: String] { ["data": data, "class_subset": classSubset ?? "", "per_class": perClass.map(String.init) ?? ""] }
    var manifest: [(String, JSON)] { [("data", .string(data)), ("class_subset", .string(classSubset ?? "")), ("per_class", .string(perClass.map(String.init) ?? "all"))] }

    /// Loads the training split (a regression set whole; a classification set's first `perClass`
    /// examples of each class, or all of them).
    func load() throws -> Dataset {
        var options = DataOptions()
        options.data = data
        options.classSubset = classSubset
        let full = try options.load(regression: true)
        guard let n = perClass else { return full }
        guard !full.isRegression else {
            throw ToolError("--per-class does not apply to --data \(data), a regression set; choose its number of points with fit1d:N")
        }
        guard n >= 1 else { throw ToolError("--per-class is \(n); give at least 1 example of each class") }
        do { return try full.balanced(perClass: n) } catch let error as DataError { throw ToolError("--per-class \(n): \(error)") }
    }
}

/// The options that choose a training set; `--data` is optional so a command can fall back on a default.
struct TrainingSetOptions: ParsableArguments {
    @Option(help: "fit1d[:N] (the 1-D fitting set, N points, default 20), fashion-mnist, mnist:DIR, cifar10:DIR, sphere, mixture or a folder of IDX files (default: fit1d for critical and condense; for embed --check, the set the narrow checkpoint records).")
    var data: String?
    @Option(name: .customLong("class-subset"), help: "Keep only these classes, relabelled in this order (e.g. 0,1,2).")
    var classSubset: String?
    @Option(name: .customLong("per-class"), parsing: .unconditional, help: "For a classification set, the first n examples of each class (default: all).")
    var perClass: Count?

    /// The set these options name, `fallback` filling in what they leave out (nil if nothing names a data set).
    func resolved(fallback: TrainingSet?) -> TrainingSet? {
        guard let data = data ?? fallback?.data else { return nil }
        let sameData = data == fallback?.data
        return TrainingSet(data: data, classSubset: classSubset ?? (sameData ? fallback?.classSubset : nil),
                           perClass: perClass?.value ?? (sameData ? fallback?.perClass : nil))
    }
}

/// The loss the embedding commands fit: mean squared error (to a regression set's targets, or to
/// one-hot labels) or cross-entropy.
func embeddingLoss(_ name: String, for data: Dataset) throws -> Loss {
    guard let loss = Loss(name: name), loss == .meanSquared || loss == .crossEntropy else {
        throw ToolError("--loss is \(name); use mse or cross-entropy")
    }
    if data.isRegression && loss != .meanSquared { throw ToolError("--loss \(name) cannot fit the real-valued targets of a regression set; use mse") }
    if !data.isRegression && data.classes < 2 { throw ToolError("the data keeps \(data.classes) class; keep at least 2 (see --class-subset)") }
    return loss
}

/// The number of network outputs a data set needs: its targets' rows, or its classes.
func outputs(of data: Dataset) -> Int { data.targets?.rows ?? data.classes }

/// An MLP of `widths` (comma-separated) for `data`, checked against its inputs and outputs.
func embeddingArchitecture(widths text: String, activation: Activation, data: Dataset) throws -> Architecture {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let w = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard w.count == parts.count, w.count >= 3 else {
        throw ToolError("--widths \(text) is not a comma-separated list of at least 3 sizes (input, hidden…, output), e.g. 1,2,1")
    }
    if let bad = w.first(where: { $0 < 1 }) { throw ToolError("--widths \(text) has size \(bad); every size must be at least 1") }
    guard w.first == data.features else {
        throw ToolError("--widths starts with \(w.first!) but the data has \(data.features) inputs; start it with \(data.features)")
    }
    guard w.last == outputs(of: data) else {
        throw ToolError("--widths ends with \(w.last!) but the data needs \(outputs(of: data)) outputs; end it with \(outputs(of: data))")
    }
    do { return try Architecture.mlp(widths: w, activation: activation) } catch let error as NetworkError { throw ToolError("--widths \(text): \(error)") }
}
