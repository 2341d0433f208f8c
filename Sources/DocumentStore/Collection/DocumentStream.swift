/// The documents of an unlimited `find`, read from PostgreSQL one row at a time so memory stays flat.
///
/// Holds one pooled connection from creation until the last row is read or `close()` is called; used by
/// one thread at a time. Reading stops with an error if the connection breaks midway.
public final class DocumentStream {
    private let database: DocumentDatabase
    private var connection: PostgresConnection?

    init(database: DocumentDatabase, query: SQLQuery) throws(DocumentStoreError) {
        self.database = database
        let connection: PostgresConnection
        do {
            connection = try database.pool.lease()
        } catch {
            throw DocumentStoreError(translating: error)
        }
        do {
            try connection.startStreaming(query)
        } catch {
            database.pool.release(connection)
            throw DocumentStoreError(translating: error)
        }
        self.connection = connection
    }

    deinit {
        close()
    }

    /// The next document, or `nil` when there are no more (a collection without a table has none).
    public func next() throws(DocumentStoreError) -> StoredDocument? {
        guard let connection else { return nil }
        do {
            if let row = try connection.nextStreamedRow() {
                return DocumentTable.document(from: row)
            }
        } catch  where error.isMissingTable {
            close()
            return nil
        } catch {
            close()
            throw DocumentStoreError(translating: error)
        }
        close()
        return nil
    }

    /// Stops reading and returns the connection to the pool; safe to call more than once.
    public func close() {
        guard let connection else { return }
        connection.cancelStreaming()
        database.pool.release(connection)
        self.connection = nil
    }
}
