import Foundation
import Landscape
import Linalg

/// The exchange format of a logit-gradient source, read by `measure --gram`, `compare --gram` and
/// `trajectory --gram`, and written by `simulate --write-gram` and `measure --write-gram`:
///
/// - `gram.npy`   — float64 (N·C)×(N·C), K[μ·C + k, ν·C + l] = ∂z^μ_k/∂θ · ∂z^ν_l/∂θ (the empirical NTK);
/// - `logits.npy` — float64 N×C;
/// - `labels.npy` — N integers in 0…C−1;
/// - `meta.json`  — optional: `{"parameters": D, "name": "…"}`.
///
/// From PyTorch or JAX: stack the per-example Jacobians as J (N·C × D, row μ·C + k) and save
/// `J @ J.T`, the logits and the labels with `numpy.save`.
public enum GramFolder {
    public static let gramFile = "gram.npy", logitsFile = "logits.npy", labelsFile = "labels.npy", metaFile = "meta.json"

    /// A folder that cannot be read as a source, with a one-line message naming the file.
    public struct ReadError: Error, CustomStringConvertible {
        public let description: String
        init(_ message: String) { description = message }
    }

    /// Reads and validates a folder. The returned name is meta.json's `name`, or the folder's name.
    public static func read(_ folder: URL) throws -> (source: LogitGradientGram, name: String) {
        let shown = folder.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: shown, isDirectory: &isDir), isDir.boolValue else {
            throw ReadError("--gram \(shown) is not a folder; give a folder holding gram.npy, logits.npy and labels.npy")
        }
        func array(_ name: String) throws -> NPY.Array {
            let url = folder.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else {
                throw ReadError("\(url.path) is missing or unreadable; a --gram folder needs gram.npy, logits.npy and labels.npy")
            }
            do { return try NPY.decode(data) } catch { throw ReadError("\(url.path): \(error)") }
        }
        let gram = try array(gramFile), logits = try array(logitsFile), labels = try array(labelsFile)
        let path = { (name: String) in folder.appendingPathComponent(name).path }
        guard logits.shape.count == 2, logits.shape[1] >= 2 else {
            throw ReadError("\(path(logitsFile)) has shape \(logits.shape); it must be N×C with C ≥ 2")
        }
        let (n, c) = (logits.shape[0], logits.shape[1])
        guard labels.shape == [n] else {
            throw ReadError("\(path(labelsFile)) has shape \(labels.shape) but logits.npy has N = \(n) rows; save one label per example")
        }
        guard labels.isInteger else { throw ReadError("\(path(labelsFile)) holds floating-point numbers; save integer labels 0…\(c - 1)") }
        guard gram.shape == [n * c, n * c] else {
            throw ReadError("\(path(gramFile)) has shape \(gram.shape) but N·C = \(n)·\(c) needs (\(n * c), \(n * c)) (index μ·C + k)")
        }
        guard !gram.isInteger else { throw ReadError("\(path(gramFile)) holds integers; save the Gram as float64") }
        // Non-finite data would surface later as a LAPACK failure; name the file here.
        for (file, array) in [(gramFile, gram), (logitsFile, logits)] {
            if let bad = array.values.firstIndex(where: { !$0.isFinite }) {
                throw ReadError("\(path(file)) holds a non-finite number (\(array.values[bad]) at flat index \(bad)); save finite float64 values")
            }
        }
        if let bad = labels.values.firstIndex(where: { !($0 >= 0 && $0 < Double(c)) }) {
            throw ReadError("\(path(labelsFile)) holds label \(formatNumber(labels.values[bad])) at index \(bad), outside 0…\(c - 1) (logits.npy has C = \(c) columns); save labels 0…\(c - 1)")
        }
        var parameters: Int? = nil, name = folder.lastPathComponent
        let metaURL = folder.appendingPathComponent(metaFile)
        if FileManager.default.fileExists(atPath: metaURL.path) {
            guard let data = try? Data(contentsOf: metaURL),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ReadError("\(metaURL.path) is not a JSON object; write {\"parameters\": D, \"name\": \"…\"} or remove it")
            }
            if let d = object["parameters"] {
                guard let number = d as? NSNumber, number.doubleValue.isFinite, number.doubleValue < 9e18,
                      let value = Int(exactly: number.doubleValue), value >= 1 else {
                    throw ReadError("\(metaURL.path): \"parameters\" must be a positive integer (the parameter count D)")
                }
                parameters = value
            }
            if let given = object["name"] as? String { name = given }
        }
        // The Gram is stored row-major; it is symmetric, so its column-major reading is the same
        // matrix exactly when valid, and validation rejects it otherwise.
        do {
            let source = try LogitGradientGram(gram: Matrix(rows: n * c, cols: n * c, storage: gram.values), logits: logits.values,
                                               labels: labels.values.map { Int($0) }, classes: c, parameters: parameters)
            return (source, name)
        } catch let error as SourceError {
            throw ReadError("--gram \(shown): \(error)")
        }
    }

    /// The files of a source, ready to write into a folder.
    public static func files(_ source: LogitGradientGram, name: String) -> [(String, Data)] {
        let (n, c) = (source.examples, source.classes)
        var meta: [(String, JSON)] = [("name", .string(name))]
        if let d = source.parameters { meta.insert(("parameters", .integer(d)), at: 0) }
        return [(gramFile, NPY.encode(source.gram.storage, shape: [n * c, n * c])),
                (logitsFile, NPY.encode(source.logits, shape: [n, c])),
                (labelsFile, NPY.encode(integers: source.labels)),
                (metaFile, JSON.object(meta).data)]
    }
}
