import Foundation

/// NumPy's .npy format (version 1.0, and reading 2.0/3.0 headers): little-endian float64 and int64
/// arrays are written; float64/float32 and any little-endian integer type are read, in C or Fortran
/// order. This is the exchange format of the `--gram` folders, so a PyTorch or JAX user can write
/// `numpy.save("gram.npy", K)` and be read exactly.
public enum NPY {
    /// An array read from a .npy file: its shape and its elements in C (row-major) order.
    public struct Array: Sendable {
        public var shape: [Int]
        public var values: [Double]
        /// Whether the file held an integer type (then every value is an exact integer).
        public var isInteger: Bool
    }

    /// A file that is not a readable .npy array, with a one-line reason.
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
        init(_ message: String) { description = message }
    }

    /// A 1-D float64 array.
    public static func encode(_ values: [Double]) -> Data { encode(values, shape: [values.count]) }

    /// A float64 array of `shape` from elements in C (row-major) order.
    public static func encode(_ values: [Double], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        var data = header(descr: "<f8", shape: shape)
        data.reserveCapacity(data.count + 8 * values.count)
        values.withUnsafeBufferPointer { p in
            for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// A 1-D int64 array.
    public static func encode(integers values: [Int]) -> Data {
        var data = header(descr: "<i8", shape: [values.count])
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93]) + "NUMPY".data(using: .ascii)! + Data([1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(header.data(using: .ascii)!)
        return data
    }

    /// Element types read: little-endian (or byte-sized) floats and integers.
    static let types: [String: (size: Int, integer: Bool)] = [
        "<f8": (8, false), "<f4": (4, false),
        "<i8": (8, true), "<u8": (8, true), "<i4": (4, true), "<u4": (4, true), "<i2": (2, true), "<u2": (2, true),
        "|i1": (1, true), "|u1": (1, true), "<i1": (1, true), "<u1": (1, true), "|b1": (1, true),
    ]

    /// Parses a .npy file. Throws `FormatError` for anything else (wrong magic, big-endian or object
    /// arrays, a truncated body).
    public static func decode(_ data: Data) throws -> Array {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Swift.Array(bytes[1..<6]) == Swift.Array("NUMPY".utf8) else {
            throw FormatError("not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let (lengthBytes, start): (Int, Int) = major == 1 ? (2, 10) : (4, 12)
        guard major >= 1 && major <= 3, bytes.count >= start else { throw FormatError("unsupported .npy version \(major)") }
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        guard bytes.count >= start + headerLength,
              let header = String(bytes: bytes[start..<(start + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw FormatError("truncated .npy header")
        }
        func field(_ key: String) -> String? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return String(header[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), descrField.first == "'",
              let descr = descrField.dropFirst().split(separator: "'").first.map(String.init) else {
            throw FormatError("the .npy header has no 'descr'")
        }
        guard let type = types[descr] else {
            throw FormatError("element type \(descr) is not supported; save little-endian float64 (or integers for labels)")
        }
        guard let orderField = field("fortran_order") else { throw FormatError("the .npy header has no 'fortran_order'") }
        let fortran = orderField.hasPrefix("True")
        guard let shapeField = field("shape"), shapeField.first == "(", let close = shapeField.firstIndex(of: ")") else {
            throw FormatError("the .npy header has no 'shape'")
        }
        let dims = shapeField[shapeField.index(after: shapeField.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, shape.allSatisfy({ $0 >= 0 }) else { throw FormatError("cannot read the shape \(shapeField[...close])") }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let body = start + headerLength
        guard count < Int.max / type.size, bytes.count - body == count * type.size else {
            throw FormatError("the body holds \(bytes.count - body) bytes but shape \(shape) of \(descr) needs \(count == Int.max ? -1 : count * type.size)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { p in
            for i in 0..<count {
                let o = body + i * type.size
                var raw: UInt64 = 0
                for b in 0..<type.size { raw |= UInt64(p[o + b]) << (8 * UInt64(b)) }
                switch descr {
                case "<f8": values[i] = Double(bitPattern: raw)
                case "<f4": values[i] = Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
                case "<i8": values[i] = Double(Int64(bitPattern: raw))
                case "<i4": values[i] = Double(Int32(truncatingIfNeeded: raw))
                case "<i2": values[i] = Double(Int16(truncatingIfNeeded: raw))
                case "|i1", "<i1": values[i] = Double(Int8(truncatingIfNeeded: raw))
                default: values[i] = Double(raw)
                }
            }
        }
        if fortran && shape.count > 1 {
            // Column-major (first index fastest) to row-major.
            var strides = [Int](repeating: 1, count: shape.count)
            for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
            var reordered = [Double](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var target = 0
                for d in 0..<shape.count { target += index[d] * strides[d] }
                reordered[target] = values[i]
                for d in 0..<shape.count {
                    index[d] += 1
                    if index[d] < shape[d] { break }
                    index[d] = 0
                }
            }
            values = reordered
        }
        return Array(shape: shape, values: values, isInteger: type.integer)
    }
}
