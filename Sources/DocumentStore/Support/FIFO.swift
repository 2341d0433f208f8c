/// A first-in, first-out queue whose taken elements are released at once and whose storage is reused:
/// an array read from a moving head, compacted once the taken part is the larger half.
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }

    /// The element that `popFirst` would take.
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Changes the element `popFirst` would take.
    mutating func updateFirst(_ change: (inout Element) -> Void) {
        guard head < storage.count else { return }
        change(&storage[head]!)
    }

    /// Takes every element, in order.
    mutating func removeAll() -> [Element] {
        let taken = storage[head...].map { $0! }
        storage.removeAll()
        head = 0
        return taken
    }
}
