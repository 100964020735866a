import ArgumentParser
import Foundation

/// The `fortganguli` tool: simulate the Fort–Ganguli random model and reproduce the paper's model figures.
@main
struct FortGanguliCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fortganguli",
        abstract: "Curvature of neural loss landscapes: the Fort–Ganguli random model, real networks, and their shared statistics.",
        subcommands: [SimulateCommand.self, SweepCommand.self, TheoryCommand.self, PhaseCommand.self, ReproduceCommand.self,
                      TrainCommand.self, MeasureCommand.self, TrajectoryCommand.self, ScaleSweepCommand.self, CompareCommand.self,
                      GoldilocksCommand.self, SubspaceTrainCommand.self, JammingCommand.self, JammingSpectrumCommand.self,
                      CriticalCommand.self, EmbedCommand.self, CondenseCommand.self, MergeCommand.self, EnvironmentCommand.self])

    /// Parses, runs, and reports every failure in one line on standard error (`Error: …`) with a
    /// non-zero status: 1 for the tool's own errors, 64 for a command line it cannot parse (the
    /// usage stays behind `--help`), 130 for an interruption.
    static func main() {
        BLASKernels.restartIfGeneric()
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { fail(error) }
        Invocation.command = type(of: command).configuration.commandName ?? "fortganguli"
        do { try command.run() } catch { fail(error) }
        Foundation.exit(0)
    }

    private static func fail(_ error: Error) -> Never {
        if Interruption.interrupted { while true { sleep(1) } }   // the signal handler is ending the process
        let code = exitCode(for: error)
        if code == .success {   // --help, --version
            print(fullMessage(for: error))
            Foundation.exit(0)
        }
        var text: String
        switch error {
        case let e as ToolError: text = e.description
        case let e as FileFailure: text = e.description
        case let e as ExitCode: Foundation.exit(e.rawValue)
        case let e as NSError where e.domain == NSCocoaErrorDomain || e.domain == NSPOSIXErrorDomain:
            let path = e.userInfo[NSFilePathErrorKey] as? String ?? (e.userInfo[NSURLErrorKey] as? URL)?.path ?? "a file"
            text = FileFailure(path: path, code: OutputFolder.posixCode(e)).description
        default:
            text = message(for: error)
            if code == .validationFailure { text += " (see --help)" }
        }
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        FileHandle.standardError.write(Data(("Error: " + (line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line) + "\n").utf8))
        Foundation.exit(code == .validationFailure ? code.rawValue : 1)
    }
}
