import Foundation

/// The checkpoints of a training run folder (`RUN/step-NNNNNN.safetensors`, written by `train`), in step order.
public struct RunFolder: Sendable {
    public let url: URL
    public let steps: [Int]

    public init(_ path: String) throws {
        url = URL(fileURLWithPath: path)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
        steps = files.compactMap { Int($0.dropFirst(5).dropLast(12)) }
        guard !steps.isEmpty else {
            throw NetworkError.invalid("\(path) holds no step-NNNNNN.safetensors checkpoints; run fortganguli train --output \(path) first")
        }
    }

    /// The file of the checkpoint saved at `step`.
    public func checkpoint(step: Int) -> URL { url.appendingPathComponent(String(format: "step-%06d.safetensors", step)) }

    /// The network saved at `step`, checked against the data it will be measured on.
    public func network(step: Int, data: Dataset) throws -> Network {
        let (net, _) = try Checkpoint.read(checkpoint(step: step))
        try net.check(against: data)
        return net
    }
}

extension Network {
    /// Refuses data whose input size or class count differs from the network's.
    public func check(against data: Dataset) throws {
        let a = architecture
        guard a.classes >= 2 || data.classes < 2 else {
            throw NetworkError.invalid("the checkpoint's network has one output (a binary loss such as the hinge) but this command studies cross-entropy networks on \(data.classes) classes; for hinge networks use fortganguli jamming-spectrum")
        }
        guard a.inputs == data.inputs.rows, a.classes == data.classes else {
            throw NetworkError.invalid("the checkpoint's network takes \(a.inputs) inputs and \(a.classes) classes but the data has \(data.inputs.rows) and \(data.classes); use the data set (and --class-subset) it was trained on")
        }
    }
}
