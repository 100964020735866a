import Foundation

/// A JSON value written with a fixed key order and shortest round-trip numbers; non-finite numbers become null.
public indirect enum JSON {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])
    case null

    public static func numbers(_ values: [Double]) -> JSON { .array(values.map { .number($0) }) }

    public func render(indent: Int = 0) -> String {
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

    public var data: Data { (render() + "\n").data(using: .utf8)! }
}

/// Shortest decimal that reads back to the same double (Swift's description), with integers kept as x.0-free text.
public func formatNumber(_ v: Double) -> String {
    guard v.isFinite else { return "nan" }
    return "\(v)"
}
