/// A document inserted, replaced, merged or deleted in a collection whose changes are tracked.
public struct Change: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Inserted, replaced or merged: `document` is the document as committed.
        case upsert
        /// Deleted (or moved to the failed-migrations table): `document` is what was deleted.
        case delete
    }

    public let kind: Kind
    public let document: StoredDocument
    /// The transaction that made the change (PostgreSQL's `xid8`).
    public let transaction: UInt64
}

/// The changes read from a watermark on, in transaction order, and the watermark to read from next.
public struct ChangeBatch: Sendable {
    public let changes: [Change]
    /// The oldest transaction that may still commit a change not in this batch.
    public let watermark: UInt64
}

/// Where a reader is in a collection's changes: the watermark to read from next, and the changes at or
/// past it that were already taken. Those are read again until every transaction before them has ended;
/// remembering them makes each change come out once.
public struct ChangePosition: Sendable {
    public private(set) var watermark: UInt64
    private var taken: Set<Taken> = []

    private struct Taken: Hashable {
        let id: String
        let transaction: UInt64
        let kind: Change.Kind
    }

    /// Starts at `watermark` (from `DocumentCollection.watermarkOperation` or a resumed client's token).
    public init(watermark: UInt64) {
        self.watermark = watermark
    }

    /// The changes of `batch` not taken before, in transaction order; moves the watermark on.
    public mutating func take(_ batch: ChangeBatch) -> [Change] {
        var fresh: [Change] = []
        for change in batch.changes where change.transaction >= watermark {
            let key = Taken(id: change.document.id, transaction: change.transaction, kind: change.kind)
            if taken.insert(key).inserted { fresh.append(change) }
        }
        watermark = max(watermark, batch.watermark)
        taken = taken.filter { $0.transaction >= watermark }
        return fresh
    }
}
