import ArgumentParser
import DocumentStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the database the way GET /verify does, and print a table of the checks.",
        discussion: """
            Exits 0 when every check passes, 1 when one fails, 2 when the configuration is invalid. With --fix, \
            first closes the stores' tables that Supabase's Data API roles (anon, authenticated) can reach: \
            row-level security on and their privileges revoked, on each such table the database user owns.
            """
    )

    @Flag(help: "Close the stores' tables to Supabase's Data API roles before checking (tables the user owns).")
    var fix = false

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
        if fix {
            do {
                let closure = try database.closeStoreTablesToDataAPI(tablePrefixes: prefixes)
                print(
                    closure.closed.isEmpty
                        ? "fix: no table of the stores was open to the Data API roles"
                        : "fix: closed to the Data API roles (row-level security on, privileges of anon and "
                            + "authenticated revoked): \(closure.closed.joined(separator: ", "))")
                for table in closure.notOwned {
                    print("fix: \(table.table) is owned by \(table.owner), who must run: \(table.sql)")
                }
            } catch {
                print("fix: cannot close the stores' tables: \(error.message)")
            }
        }
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
