import ArgumentParser

/// The `fortganguli` tool: simulate the Fort–Ganguli random model and reproduce the paper's model figures.
@main
struct FortGanguliCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fortganguli",
        abstract: "Curvature of neural loss landscapes: the Fort–Ganguli random model, real networks, and their shared statistics.",
        subcommands: [SimulateCommand.self, SweepCommand.self, TheoryCommand.self, PhaseCommand.self, ReproduceCommand.self,
                      TrainCommand.self, MeasureCommand.self, TrajectoryCommand.self, ScaleSweepCommand.self, CompareCommand.self])
}
