import ArgumentParser
import Foundation
import Linalg

/// `fortganguli environment`: the numerical environment a run's numbers depend on (bit for bit): the
/// BLAS library that runs, OpenBLAS's build and the CPU family of its kernels, and its threads.
struct EnvironmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "environment",
        abstract: "Print the BLAS that runs (library, OpenBLAS build, kernels, threads) and the OPENBLAS_CORETYPE the tool chose, if any.")

    @Flag(help: "Print only `export` lines for the variables the tool set (OPENBLAS_CORETYPE), for a shell's eval, so that other programs on the same library (the test suite) get the same kernels.")
    var exports = false

    func run() throws {
        let chosen = BLASKernels.chosen
        if exports {
            if let core = chosen { print("export \(BLAS.coreTypeVariable)=\(core)") }
            return
        }
        let provider = BLAS.provider
        let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"].map { "\($0) (OPENBLAS_NUM_THREADS)" }
            ?? "\(ProcessInfo.processInfo.activeProcessorCount) (one a core)"
        let why: String
        if let core = chosen {
            why = "\(BLAS.coreTypeVariable)=\(core), set by fortganguli: OpenBLAS's own detection chose its generic Prescott kernels on this CPU"
        } else if let set = ProcessInfo.processInfo.environment[BLAS.coreTypeVariable] {
            why = "\(BLAS.coreTypeVariable)=\(set), from the environment"
        } else {
            why = "OpenBLAS's own detection"
        }
        print("BLAS: \(provider.library)")
        print("OpenBLAS build: \(provider.config)")
        print("kernels: \(BLAS.kernelCore) (\(why))")
        print("threads: \(threads)")
    }
}

/// Mends OpenBLAS's kernel choice for the whole process: `BLAS.kernelOverride` says when its
/// detection fell back to generic kernels on a newer CPU, and since OpenBLAS reads
/// `OPENBLAS_CORETYPE` only when it loads, the tool then runs itself again (same process, same
/// arguments) with the variable set. `FORTGANGULI_CORETYPE_SET` marks that the tool chose it.
enum BLASKernels {
    static let marker = "FORTGANGULI_CORETYPE_SET"

    /// The kernels the tool chose for this process, nil when OpenBLAS's own choice (or the user's) stands.
    static var chosen: String? {
        let environment = ProcessInfo.processInfo.environment
        return environment[marker] == "1" ? environment[BLAS.coreTypeVariable] : nil
    }

    /// Replaces the process image with the tool itself under the better kernels, when there are
    /// any; returns only when there are none or `execv` fails (then the run goes on, only slower).
    static func restartIfGeneric() {
        guard let core = BLAS.kernelOverride() else { return }
        setenv(BLAS.coreTypeVariable, core, 1)
        setenv(marker, "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv(BLAS.coreTypeVariable)
        unsetenv(marker)
    }
}
