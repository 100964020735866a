import Foundation

/// The memory a run may allocate: the kernel's estimate of what can be allocated without swapping
/// (`MemAvailable` in /proc/meminfo, which counts reclaimable caches and what other processes
/// already hold), or the physical memory where that file does not exist.
public enum SystemMemory {
    /// Bytes available now.
    public static var availableBytes: Double {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let kib = Double(fields[1]) { return kib * 1024 }
            }
        }
        return Double(ProcessInfo.processInfo.physicalMemory)
    }

    /// The share of `availableBytes` a run plans to use, leaving room for the allocator and the OS.
    public static let usableFraction = 0.9

    /// Bytes a run may plan to use.
    public static var budgetBytes: Double { usableFraction * availableBytes }

    /// `bytes` in GiB, for messages.
    public static func gib(_ bytes: Double) -> String {
        let g = bytes / 1_073_741_824
        return g < 1e4 ? String(format: "%.1f GiB", g) : String(format: "%.2g GiB", g)
    }
}
