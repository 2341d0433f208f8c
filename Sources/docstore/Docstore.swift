import ArgumentParser
import DocumentService

@main
struct Docstore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docstore",
        abstract: "Parlant's document stores (sessions, customers, context variables) in PostgreSQL, over HTTP.",
        discussion: """
            Configuration comes from the environment (SUPABASE_URL, SUPABASE_KEY, SUPABASE_DB_PASSWORD or \
            DATABASE_URL, ...); see the README for every variable.
            """,
        version: "\(BuildInfo.version) (commit \(BuildInfo.commit))",
        subcommands: [Serve.self, Verify.self, Schema.self],
        defaultSubcommand: Serve.self
    )
}
