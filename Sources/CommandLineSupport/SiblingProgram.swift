#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The tool's two programs, `vhdtool` and `vhdtool-gallery`, installed in one folder: each runs
/// the other for what only the other can do (the gallery's commands need Foundation, which
/// `vhdtool` does not load; the disk commands' declarations are linked into `vhdtool` alone).
package enum SiblingProgram {
    /// The path of the program `name` in the folder of the running executable.
    package static func path(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0
            ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        let folder = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (folder.isEmpty ? "." : folder) + "/" + name
    }

    /// Replaces this process with the program `name` from the same folder, given `arguments`.
    /// Returns only if that fails: the program's path and why (the system's words for errno).
    package static func exec(_ name: String, arguments: [String]) -> (program: String, reason: String) {
        let program = path(name)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        execv(program, argv)
        return (program, String(cString: strerror(errno)))
    }
}
