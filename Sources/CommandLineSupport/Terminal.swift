#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing text to the standard streams without Foundation (which would cost the command
/// several milliseconds of start-up loading ICU).
package enum Terminal {
    package static func write(_ text: String, to descriptor: Int32) {
        write(bytes: Array(text.utf8), to: descriptor)
    }

    package static func write(bytes: [UInt8], to descriptor: Int32) {
        var bytes = bytes
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            done += count
        }
    }

    package static func standardOutput(_ text: String) { write(text, to: STDOUT_FILENO) }
    package static func standardError(_ text: String) { write(text, to: STDERR_FILENO) }

    /// Whether standard error is a terminal (progress is drawn only there).
    package static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// An environment variable.
    package static func environment(_ name: String) -> String? {
        getenv(name).map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) }
    }
}
