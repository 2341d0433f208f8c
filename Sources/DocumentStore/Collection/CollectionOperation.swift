import EventLoop

/// One operation on a collection: the statements PostgreSQL runs for it and how their results become the
/// operation's outcome. It is the one place where an operation's SQL is built and its result decoded,
/// whichever executor runs it: `DocumentCollection.perform` blocks the calling thread, `StoreExecutor`
/// sends it down an event loop's pipeline.
public struct CollectionOperation<Outcome: Sendable>: Sendable {
    enum Plan: Sendable {
        /// Statements sent together and run in order; on a pipeline, one request with one Sync.
        case statements([PipelineStatement], decode: @Sendable ([QueryResult]) throws(DocumentStoreError) -> Outcome)
        /// One document by id: `decode` gets its row (`data::text, id, creation_utc`), or nil. An event loop
        /// sends the row operations of one kind and collection that wait together as one statement.
        case row(RowOperation, decode: @Sendable ([String?]?) throws(DocumentStoreError) -> Outcome)
        /// Several round trips or a transaction: run whole on a thread that may block.
        case blocking(@Sendable () throws(DocumentStoreError) -> Outcome)
    }

    let collection: DocumentCollection
    /// What the operation is, for the metrics (`get`, `find`, `insert`, ...).
    let name: String
    let plan: Plan
    /// Whether the operation needs the collection's tables: when this process has not seen them, they are
    /// made first (on a thread that may block).
    let writes: Bool
    /// The outcome when the collection's table does not exist yet, for reads (and merges, and deletes):
    /// what an empty collection gives. `nil` lets the missing table stand as an error.
    let whenMissing: Outcome?

    init(
        _ collection: DocumentCollection, named name: String, _ plan: Plan, writes: Bool = false,
        whenMissing: Outcome? = nil
    ) {
        self.collection = collection
        self.name = name
        self.plan = plan
        self.writes = writes
        self.whenMissing = whenMissing
    }

    /// Runs the operation on the calling thread, blocking until PostgreSQL answers.
    public func performBlocking() throws(DocumentStoreError) -> Outcome {
        try collection.perform(self)
    }

    /// Runs a plan of statements on `connection`, blocking: for a component that keeps a connection of its
    /// own (`ChangeHub`). The collection's tables must exist.
    func perform(on connection: PostgresConnection) throws(DocumentStoreError) -> Outcome {
        guard case .statements(let statements, let decode) = plan else {
            preconditionFailure("perform(on:) runs plans of statements only")
        }
        let results: [QueryResult]
        do {
            results = try statements.map { statement throws(DatabaseError) in
                try connection.query(statement.query, reusable: statement.reusable)
            }
        } catch {
            throw DocumentStoreError(translating: error)
        }
        return try decode(results)
    }

}

/// An unlimited find, for `StoreExecutor.stream`: its statement, whose rows are documents in keyset order.
public struct StreamOperation: Sendable {
    let query: SQLQuery
}

extension DocumentCollection {
    /// Runs `operation` on the calling thread, blocking until PostgreSQL answers: on a pooled connection,
    /// making the collection's tables first for a write.
    /// When `cancellation` is cancelled while PostgreSQL runs the statements, they are cancelled.
    func perform<Outcome>(
        _ operation: CollectionOperation<Outcome>, cancellation: Cancellation? = nil
    ) throws(DocumentStoreError) -> Outcome {
        let statements: [PipelineStatement]
        let decode: @Sendable ([QueryResult]) throws(DocumentStoreError) -> Outcome
        switch operation.plan {
        case .blocking(let body):
            return try body()
        case .row(let row, let decodeRow):
            statements = [statement(for: [row])]
            decode = { results throws(DocumentStoreError) in try decodeRow(results.first?.rows.first) }
        case .statements(let sent, let decodeResults):
            statements = sent
            decode = decodeResults
        }
        let schema = database.schemaManager
        let results: [QueryResult]? = try database.run(cancellation: cancellation) { connection in
            if operation.writes { try schema.ensure(names, on: connection) }
            let runAll = { () throws -> [QueryResult] in
                try statements.map { try connection.query($0.query, reusable: $0.reusable) }
            }
            do {
                return try runAll()
            } catch let error as DatabaseError where error.isMissingTable {
                if operation.whenMissing != nil { return nil }
                guard operation.writes else { throw error }
                // Dropped meanwhile (by another replica): make the tables again and retry once.
                schema.forget(names)
                try schema.ensure(names, on: connection)
                return try runAll()
            }
        }
        guard let results else { return operation.whenMissing! }
        return try decode(results)
    }
}
