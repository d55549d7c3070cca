import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A process that may hold a lease: its host name, process id and the process's start time
/// (so that a pid reused by another process is not taken for the holder).
package struct LeaseHolder: Sendable, Equatable, Hashable, CustomStringConvertible {
    package var host: String
    package var pid: Int32
    /// Field 22 of `/proc/PID/stat`: clock ticks since boot when the process started.
    package var startTime: UInt64

    package init(host: String, pid: Int32, startTime: UInt64) {
        self.host = host
        self.pid = pid
        self.startTime = startTime
    }

    /// This process.
    package static let current: LeaseHolder = {
        let pid = getpid()
        return LeaseHolder(host: hostName(), pid: pid, startTime: startTime(of: pid) ?? 0)
    }()

    package var description: String { "pid \(pid) on \(host)" }

    /// The host name leases record: `VHDTOOL_HOST` when set (tests play several hosts on one
    /// machine with it), else gethostname, else "localhost".
    static func hostName() -> String {
        if let given = getenv("VHDTOOL_HOST").map({ String(cString: $0) }), !given.isEmpty { return given }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return name.isEmpty ? "localhost" : name
    }

    /// The start time of process `pid` from `/proc/PID/stat`, or nil when there is no such
    /// process (or no /proc).
    static func startTime(of pid: Int32) -> UInt64? {
        guard let text = SystemCalls.smallFile(FilePath("/proc/\(pid)/stat")), !text.isEmpty else { return nil }
        // "PID (COMM) STATE ...": the command may hold spaces and ')', so fields are counted
        // after the last ')'. State is field 3, start time field 22.
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}

/// Who holds a version or a replication job, and until when: the holder renews `expiry`
/// while it works (a heartbeat).
package struct Lease: Sendable, Equatable {
    package var holder: LeaseHolder
    /// Unix seconds.
    package var expiry: Double
    /// "creating", "updating", "deleting" or "replicating".
    package var operation: String?

    /// How long a lease lasts without renewal, in seconds; the heartbeat renews it every third
    /// of that. 30, or `VHDTOOL_LEASE_SECONDS` when it holds a number from 1 to 3600 (tests
    /// shorten it to see another host's lease expire).
    package static let duration: Double = {
        if let text = getenv("VHDTOOL_LEASE_SECONDS").map({ String(cString: $0) }), let seconds = Double(text),
           (1...3600).contains(seconds) {
            return seconds
        }
        return 30
    }()

    package init(holder: LeaseHolder, expiry: Double, operation: String?) {
        self.holder = holder
        self.expiry = expiry
        self.operation = operation
    }

    /// A lease of this process from now.
    static func mine(_ operation: String?) -> Lease {
        Lease(holder: .current, expiry: now() + duration, operation: operation)
    }

    /// Whether the holder still works: on this host, the process with that pid exists and
    /// started when the holder did; on another host, the lease has not expired.
    package var status: LeaseStatus {
        if holder.host == LeaseHolder.current.host {
            if let started = LeaseHolder.startTime(of: holder.pid), started == holder.startTime { return .alive }
            return .abandoned("\(holder) is gone")
        }
        if expiry > Self.now() { return .alive }
        return .abandoned("the lease of \(holder) expired")
    }

    package var isAlive: Bool { status == .alive }
    var isMine: Bool { holder == .current }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Whether a lease's holder still works.
package enum LeaseStatus: Sendable, Equatable {
    case alive
    /// The holder is gone (why); its work may be taken over.
    case abandoned(String)
}
