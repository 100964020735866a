import ArgumentParser
struct SweepCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "sweep") }
