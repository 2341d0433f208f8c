import ArgumentParser
import DocumentStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the database the way GET /verify does, and print a table of the checks.",
        discussion: "Exits 0 when every check passes, 1 when one fails, 2 when the configuration is invalid."
    )

    func run() throws {
        let configuration = try Environment.configuration()
        let database: DocumentDatabase
        do {
            database = try DocumentDatabase(settings: configuration.database)
        } catch {
            print("cannot use the database settings: \(error.message)")
            throw ExitCode(2)
        }
        defer { database.close() }
        let prefixes = Store.allCases.map { (store: $0, prefix: configuration.tablePrefix(for: $0)) }
        let report = database.verify(tablePrefixes: prefixes)
        let nameWidth = max(5, report.checks.map(\.name.count).max() ?? 0)
        print("\(pad("CHECK", nameWidth))  RESULT  \(pad("MS", 8))  DETAIL")
        for check in report.checks {
            let milliseconds = String((check.milliseconds * 10).rounded() / 10)
            print(
                "\(pad(check.name, nameWidth))  \(pad(check.ok ? "ok" : "FAILED", 6))  \(pad(milliseconds, 8))  "
                    + check.detail
            )
        }
        print(report.ok ? "all \(report.checks.count) checks passed" : "verification FAILED")
        if !report.ok { throw ExitCode(1) }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
