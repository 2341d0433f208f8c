/// Compares an existing collection table with `ExpectedCollectionShape` and words each difference as
/// something a person can act on.
struct CollectionShapeReview {
    let names: TableNames
    let catalog: CollectionCatalog
    /// `store/collection`, for the `PUT /{store}/{collection}` that creates what is missing.
    let route: String
    /// The database user the service connects as.
    let user: String

    var problems: [String] {
        columnProblems + primaryKeyProblems + indexProblems + failedTableProblems + privilegeProblems
    }

    private var qualifiedTable: String { "\(names.schema.name).\(names.table.name)" }
    private var tableCreatedLater: String { "created on the next write to the collection or by PUT /\(route)" }
    private var createdLater: String {
        "built (without blocking writes) after the next write to the collection, or at once by PUT /\(route)"
    }

    private var columnProblems: [String] {
        let expected = ExpectedCollectionShape.columns
        let found = Dictionary(catalog.columns.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        let missing = expected.filter { found[$0.name] == nil }.map(\.name)
        let wrongTypes = expected.compactMap { column -> String? in
            guard let type = found[column.name], type != column.type else { return nil }
            return "\(column.name) is \(type), not \(column.type)"
        }
        // The change feed's column, added the first time the collection is watched, belongs there too.
        let extra = catalog.columns.map(\.name).filter { name in
            !expected.contains { $0.name == name } && name != ChangeTrackingDDL.column
        }
        var problems: [String] = []
        if !missing.isEmpty { problems.append("missing columns \(missing.joined(separator: ", "))") }
        problems += wrongTypes.map { "column \($0)" }
        if !extra.isEmpty { problems.append("unexpected columns \(extra.joined(separator: ", "))") }
        guard !problems.isEmpty else { return [] }
        let wanted = expected.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        return [
            problems.joined(separator: ", ")
                + "; the table must have exactly the seed's columns (\(wanted)): fix it with ALTER TABLE "
                + "\(qualifiedTable) or recreate it"
        ]
    }

    private var primaryKeyProblems: [String] {
        let hasKey = catalog.indexes.contains {
            $0.isPrimary && $0.isValid && $0.definition == ExpectedCollectionShape.primaryKeyDefinition
        }
        return hasKey ? [] : ["no primary key on id: ALTER TABLE \(qualifiedTable) ADD PRIMARY KEY (id)"]
    }

    private var indexProblems: [String] {
        var missing: [String] = []
        var wrong: [String] = []
        for index in ExpectedCollectionShape(names: names).indexes {
            let matches = catalog.indexes.contains { !$0.isUnique && $0.isValid && $0.definition == index.definition }
            guard !matches else { continue }
            guard let named = catalog.indexes.first(where: { $0.name == index.name }) else {
                missing.append("\(index.name) (\(index.definition))")
                continue
            }
            guard named.isValid else {
                wrong.append(
                    "index \(index.name) is not valid (it is being built now, or its build was cut off): it is "
                        + createdLater)
                continue
            }
            wrong.append(
                "index \(index.name) is \(named.isUnique ? "unique " : "")\(named.definition) instead of "
                    + "\(index.definition): DROP INDEX \(names.schema.name).\(index.name); it is then \(createdLater)"
            )
        }
        guard !missing.isEmpty else { return wrong }
        let list = missing.joined(separator: ", ")
        guard catalog.ownsTable else {
            return [
                "missing indexes \(list): user \(user) does not own the table, so its owner must create them "
                    + "(the service's schema SQL has the statements)"
            ] + wrong
        }
        return ["missing indexes \(list): they are \(createdLater)"] + wrong
    }

    private var failedTableProblems: [String] {
        guard catalog.failedTableExists else {
            return ["failed-migrations table \(names.failedTable.name) is missing: it is \(tableCreatedLater)"]
        }
        let missing = ExpectedCollectionShape.failedTableColumns.filter { !catalog.failedTableColumns.contains($0) }
        guard !missing.isEmpty else { return [] }
        return [
            "failed-migrations table \(names.failedTable.name) lacks columns \(missing.joined(separator: ", ")): "
                + "they are \(tableCreatedLater)"
        ]
    }

    private var privilegeProblems: [String] {
        let user = sqlName(self.user)
        var problems: [String] = []
        if !catalog.missingPrivileges.isEmpty {
            problems.append(
                "user \(self.user) lacks \(catalog.missingPrivileges.joined(separator: ", ")) on it: GRANT "
                    + "\(catalog.missingPrivileges.joined(separator: ", ")) ON \(qualifiedTable) TO \(user)"
            )
        }
        if !catalog.failedTableMissingPrivileges.isEmpty {
            let privileges = catalog.failedTableMissingPrivileges.joined(separator: ", ")
            problems.append(
                "user \(self.user) lacks \(privileges) on \(names.failedTable.name): GRANT \(privileges) ON "
                    + "\(names.schema.name).\(names.failedTable.name) TO \(user)"
            )
        }
        return problems
    }
}
