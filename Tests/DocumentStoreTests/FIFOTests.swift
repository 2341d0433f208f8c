import Testing

@testable import DocumentStore

/// The queue of requests waiting for a loop's connections: under steady load it is never empty, and
/// what was taken from it must still be released.
@Suite struct FIFOTests {
    final class Item {
        let number: Int
        init(_ number: Int) { self.number = number }
    }

    @Test func keepsOrderAcrossCompaction() {
        var queue = FIFO<Int>()
        var taken: [Int] = []
        for number in 0..<1000 {
            queue.append(number)
            if number % 3 != 0, let first = queue.popFirst() { taken.append(first) }
        }
        #expect(queue.first == taken.count)
        taken += queue.removeAll()
        #expect(taken == Array(0..<1000))
        #expect(queue.isEmpty && queue.popFirst() == nil)
    }

    @Test func releasesWhatWasTakenWhileNeverEmpty() {
        var queue = FIFO<Item>()
        var released: [Int] = []
        weak var lastTaken: Item?
        queue.append(Item(0))
        for number in 1...10_000 {
            queue.append(Item(number))
            let item = queue.popFirst()
            lastTaken = item
            released.append(item!.number)
        }
        #expect(lastTaken == nil, "a taken element is still held by the queue")
        #expect(queue.count == 1 && queue.first?.number == 10_000)
        #expect(released == Array(0..<10_000))
    }
}
