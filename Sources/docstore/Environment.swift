import ArgumentParser
import DocumentStore
import Foundation

/// Reading the configuration, shared by the subcommands.
enum Environment {
    /// The configuration from the environment, or exit status 2 with one line per problem on stderr.
    static func configuration() throws -> Configuration {
        do {
            return try Configuration(environment: ProcessInfo.processInfo.environment)
        } catch {
            exitWithProblems(error)
        }
    }

    static func exitWithProblems(_ error: ConfigurationError) -> Never {
        for problem in error.problems {
            FileHandle.standardError.write(Data("configuration error: \(problem)\n".utf8))
        }
        Foundation.exit(2)
    }
}
