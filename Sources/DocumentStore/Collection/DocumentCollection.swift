/// One collection of JSON documents, stored in its own table (SPEC sections 3 to 6).
///
/// Reads of a collection whose table does not exist yet return nothing and create nothing; the first
/// write creates its tables and indexes.
public struct DocumentCollection: Sendable {
    let database: DocumentDatabase
    let names: TableNames

    /// The table that holds the documents, without the schema.
    public var tableName: String { names.table.name }
    /// The table that holds documents that failed to migrate, without the schema.
    public var failedTableName: String { names.failedTable.name }

    var table: DocumentTable { DocumentTable(name: names.qualifiedTable, hasColumns: true) }
    var failedTable: DocumentTable { DocumentTable(name: names.qualifiedFailedTable, hasColumns: false) }

    /// Runs a read; a missing table or schema reads as `empty`.
    func read<T>(orEmpty empty: T, _ body: (PostgresConnection) throws -> T) throws(DocumentStoreError) -> T {
        try database.run { connection in
            do {
                return try body(connection)
            } catch let error as DatabaseError where error.isMissingTable {
                return empty
            }
        }
    }

    /// Runs a write after making sure the tables exist; if they vanished meanwhile (dropped by another
    /// replica), creates them again and retries once.
    func write<T>(_ body: (PostgresConnection) throws -> T) throws(DocumentStoreError) -> T {
        let schema = database.schemaManager
        return try database.run { connection in
            try schema.ensure(names, on: connection)
            do {
                return try body(connection)
            } catch let error as DatabaseError where error.isMissingTable {
                schema.forget(names)
                try schema.ensure(names, on: connection)
                return try body(connection)
            }
        }
    }
}
