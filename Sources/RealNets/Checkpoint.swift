import Foundation

/// Checkpoints in the huggingface safetensors format: an 8-byte little-endian header length n,
/// n bytes of JSON header (tensor dtypes, shapes, byte ranges and string metadata), then the raw
/// little-endian, row-major tensor bytes. Tensors carry PyTorch names and shapes, so files can be
/// exchanged with `safetensors.torch`.
public enum Checkpoint {
    /// Writes the network's tensors (F64, PyTorch names and shapes) with metadata = architecture.spec
    /// merged with `metadata` (e.g. step, loss, accuracy; the spec wins on a clash so the file always
    /// rebuilds its architecture), atomically (temp file + rename) so readers never see half a file.
    public static func write(_ network: Network, metadata: [String: String], to url: URL) throws {
        let architecture = network.architecture
        var header: [String: Any] = [:]
        header["__metadata__"] = metadata.merging(architecture.spec) { _, spec in spec }
        for (name, shape, offset) in architecture.parameterLayout {
            let count = shape.reduce(1, *)
            header[name] = ["dtype": "F64", "shape": shape, "data_offsets": [8 * offset, 8 * (offset + count)]] as [String: Any]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        // Pad with spaces so the data section starts at a multiple of 8 bytes.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

        var bytes = Data(capacity: 8 + json.count + 8 * network.parameters.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        var raw = [UInt8](repeating: 0, count: 8 * network.parameters.count)
        raw.withUnsafeMutableBytes { out in
            for (k, v) in network.parameters.enumerated() {
                out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * k, as: UInt64.self)
            }
        }
        bytes.append(contentsOf: raw)

        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString)")
        do {
            try bytes.write(to: temp)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw NetworkError.invalid("cannot write checkpoint \(url.path): \(error.localizedDescription); check that the directory exists and is writable")
        }
        guard rename(temp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw NetworkError.invalid("cannot move checkpoint into place at \(url.path): \(reason); check the destination path")
        }
    }

    /// Reads a checkpoint; rebuilds the architecture from the header's metadata unless `architecture` is
    /// given, in which case every tensor's name and shape must match it exactly. F32 tensors (e.g. from
    /// PyTorch) are widened to Double.
    public static func read(_ url: URL, architecture: Architecture? = nil) throws -> (network: Network, metadata: [String: String]) {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw NetworkError.invalid("checkpoint \(path) does not exist; check the path")
        }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw NetworkError.invalid("cannot read checkpoint \(path): \(error.localizedDescription)")
        }
        guard bytes.count >= 8 else {
            throw NetworkError.invalid("checkpoint \(path) is only \(bytes.count) bytes, too short for a safetensors header; the file is truncated or not a checkpoint")
        }
        let declared = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= UInt64(bytes.count - 8) else {
            throw NetworkError.invalid("checkpoint \(path) declares a \(declared)-byte header but has only \(bytes.count - 8) bytes after the length; the file is truncated or not safetensors")
        }
        let headerEnd = 8 + Int(declared)
        guard let header = (try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))) as? [String: Any] else {
            throw NetworkError.invalid("checkpoint \(path) has a header that is not a JSON object; the file is corrupt or not safetensors")
        }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let m = raw as? [String: String] else {
                throw NetworkError.invalid("checkpoint \(path) has __metadata__ that is not a map of strings to strings; the file is corrupt")
            }
            metadata = m
        }

        // Decode every tensor, checking its dtype and byte range against the data section.
        let dataCount = bytes.count - headerEnd
        var tensors: [String: (shape: [Int], values: [Double])] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = integers(e["shape"]), let offsets = integers(e["data_offsets"]), offsets.count == 2,
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw NetworkError.invalid("checkpoint \(path) tensor \(name) has a malformed entry (needs dtype, shape, data_offsets); the file is corrupt")
            }
            let width: Int
            switch dtype {
            case "F64": width = 8
            case "F32": width = 4
            default:
                throw NetworkError.invalid("checkpoint \(path) tensor \(name) has dtype \(dtype), but only F64 and F32 are supported; save it as float32 or float64")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard 0 <= begin, begin <= end, end <= dataCount else {
                throw NetworkError.invalid("checkpoint \(path) tensor \(name) has bytes \(begin)..<\(end) outside the \(dataCount)-byte data section; the file is truncated or corrupt")
            }
            guard let size = byteCount(shape, width: width), end - begin == size else {
                throw NetworkError.invalid("checkpoint \(path) tensor \(name) has \(end - begin) bytes but shape \(shape) of \(dtype) needs \(byteCount(shape, width: width).map(String.init) ?? "too many"); the file is corrupt")
            }
            let count = size / width
            var values = [Double](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                let start = headerEnd + begin
                for k in 0..<count {
                    if width == 8 {
                        let bits = raw.loadUnaligned(fromByteOffset: start + 8 * k, as: UInt64.self)
                        values[k] = Double(bitPattern: UInt64(littleEndian: bits))
                    } else {
                        let bits = raw.loadUnaligned(fromByteOffset: start + 4 * k, as: UInt32.self)
                        values[k] = Double(Float(bitPattern: UInt32(littleEndian: bits)))
                    }
                }
            }
            tensors[name] = (shape, values)
        }

        let arch: Architecture
        if let architecture {
            arch = architecture
        } else if metadata["arch"] == nil {
            throw NetworkError.invalid("checkpoint \(path) has no architecture metadata (not written by fortganguli); pass the architecture flags it was trained with (--widths, or --channels and --hidden, and --activation)")
        } else {
            do { arch = try Architecture.from(spec: metadata) } catch let error as NetworkError {
                throw NetworkError.invalid("checkpoint \(path) has architecture metadata that cannot be built: \(error.description)")
            }
        }

        // Every tensor the architecture needs, with its exact shape, and nothing else; shapes are
        // checked before the parameter vector is allocated, so metadata claiming a huge network
        // cannot allocate more than the file holds.
        let layout = arch.parameterLayout
        for (name, shape, _) in layout {
            guard let tensor = tensors[name] else {
                throw NetworkError.invalid("checkpoint \(path) lacks tensor \(name) that the architecture needs; use the flags it was trained with")
            }
            guard tensor.shape == shape else {
                throw NetworkError.invalid("checkpoint \(path) tensor \(name) has shape \(tensor.shape) but the architecture needs \(shape); use the flags it was trained with")
            }
            // Non-finite weights would surface much later as a LAPACK or Lanczos failure; name them here.
            if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw NetworkError.invalid("checkpoint \(path) holds a non-finite weight (\(tensor.values[bad]) in \(name) at index \(bad)); it is corrupt or from a diverged run, use an earlier checkpoint")
            }
        }
        if let extra = tensors.keys.filter({ key in !layout.contains { $0.name == key } }).sorted().first {
            throw NetworkError.invalid("checkpoint \(path) has tensor \(extra) that the architecture does not; use the flags it was trained with")
        }
        var parameters = [Double](repeating: 0, count: arch.parameterCount)
        for (name, _, offset) in layout {
            let values = tensors[name]!.values
            parameters.replaceSubrange(offset..<(offset + values.count), with: values)
        }
        return (Network(architecture: arch, parameters: parameters), metadata)
    }

    /// The integers of a JSON array (e.g. a shape or data_offsets), or nil if it is not one.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        for element in array {
            guard let n = element as? Int else { return nil }
            out.append(n)
        }
        return out
    }

    /// The product of a shape times the dtype width, or nil on overflow (a corrupt header).
    private static func byteCount(_ shape: [Int], width: Int) -> Int? {
        var total = width
        for d in shape {
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = p
        }
        return total
    }
}
