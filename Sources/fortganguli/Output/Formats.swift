import Foundation

/// NumPy's .npy format (version 1.0) for a 1-D little-endian float64 array.
enum NPY {
    static func encode(_ values: [Double]) -> Data {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(values.count),), }"
        // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93]) + "NUMPY".data(using: .ascii)! + Data([1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(header.data(using: .ascii)!)
        values.withUnsafeBufferPointer { p in
            for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }
}

/// A JSON value written with a fixed key order and shortest round-trip numbers; non-finite numbers become null.
indirect enum JSON {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])
    case null

    static func numbers(_ values: [Double]) -> JSON { .array(values.map { .number($0) }) }

    func render(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1), close = String(repeating: "  ", count: indent)
        switch self {
        case .number(let v): return v.isFinite ? formatNumber(v) : "null"
        case .integer(let i): return String(i)
        case .string(let s): return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            if items.allSatisfy({ if case .object = $0 { return false } else { return true } }) {
                return "[" + items.map { $0.render(indent: indent + 1) }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { pad + $0.render(indent: indent + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{\n" + pairs.map { pad + "\"\($0.0)\": " + $0.1.render(indent: indent + 1) }.joined(separator: ",\n") + "\n" + close + "}"
        }
    }

    var data: Data { (render() + "\n").data(using: .utf8)! }
}

/// Shortest decimal that reads back to the same double (Swift's description), with integers kept as x.0-free text.
func formatNumber(_ v: Double) -> String {
    guard v.isFinite else { return "nan" }
    return "\(v)"
}
