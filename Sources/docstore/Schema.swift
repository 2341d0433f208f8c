import ArgumentParser
import DocumentStore

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the SQL that creates every store's tables, to run by hand (psql, Supabase's SQL editor).",
        discussion: """
            Uses SUPABASE_SCHEMA and the *_TABLE_PREFIX variables; needs no database. The service creates \
            the same tables by itself on the first write, so running this is optional.
            """
    )

    func run() throws {
        let naming: (schema: String, tablePrefixes: [Store: String])
        do {
            naming = try Configuration.naming(environment: Environment.variables)
        } catch {
            Environment.exitWithProblems(error)
        }
        print("-- Parlant document store tables, schema \(naming.schema)")
        if naming.schema != "public" {
            print("CREATE SCHEMA IF NOT EXISTS \"\(naming.schema)\";")
        }
        for store in Store.allCases {
            let prefix = naming.tablePrefixes[store] ?? store.defaultTablePrefix
            for collection in store.knownCollections {
                print("\n-- /\(store.rawValue)/\(collection)")
                print(
                    try DocumentDatabase.schemaScript(
                        schema: naming.schema, tablePrefix: prefix, collection: collection))
            }
        }
    }
}
