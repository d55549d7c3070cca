import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The names of the temporary files being written (``OutputFile``), so that a signal handler
/// can remove them with ``removeAll()`` before the process goes.
///
/// A fixed table of C strings: the handler only reads slots and calls unlink(2), both safe in
/// a signal handler. A slot's string is never freed (a handler may be reading it); a process
/// writes few output files, and each name costs its length once.
package enum PartialFiles {
    static let capacity = 256
    /// Each slot holds the address of a C string, or 0.
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<Int> = {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        return slots
    }()
    static let registration = Mutex<Void>(())

    /// Records `path` as a partial file; returns its slot, or nil when the table is full (the
    /// file is then removed only by the ordinary discard).
    static func register(_ path: String) -> Int? {
        guard let copy = strdup(path) else { return nil }
        let address = Int(bitPattern: copy)
        return registration.withLock { _ in
            for index in 0..<capacity where slots[index] == 0 {
                slots[index] = address
                return index
            }
            return nil
        }
    }

    /// Forgets the file in `slot` (committed or discarded).
    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        registration.withLock { _ in slots[slot] = 0 }
    }

    /// Allocates the table now, so that a signal handler calling ``removeAll()`` before any
    /// file was registered does not run its lazy initialization (which allocates memory).
    package static func prepare() {
        _ = slots
    }

    /// Removes every partial file. Safe to call from a signal handler (SIGINT, SIGTERM,
    /// SIGHUP): it reads the table and calls unlink(2), nothing else.
    package static func removeAll() {
        for index in 0..<capacity {
            let address = slots[index]
            if address != 0, let name = UnsafePointer<CChar>(bitPattern: address) { SystemCalls.removeInSignalHandler(name) }
        }
    }
}
