import Foundation
import TestSupport
import Testing

/// Every libc call the libraries make on a file, a folder or a descriptor goes through VHD's one
/// file layer (Sources/VHD/Files/SystemCalls.swift), and so does every I/O error built from an
/// errno: the sources of VHD and ImageGallery are scanned as text, like the wording scan.
struct SystemCallScanTests {
    /// The layer itself, the one file allowed to call libc for files.
    static let layer = "Sources/VHD/Files/SystemCalls.swift"

    /// libc's file calls. `open`, `close`, `read`, `write`... are also the names of Swift
    /// methods: a call of one is told apart by its receiver (`file.read(`), by `try` (libc
    /// calls do not throw) or by `func` before it; `stat()` and `flock()` make the structs.
    static let call = try! NSRegularExpression(pattern: #"(?<![\w.])(?<!func )(?<!try )(?<!try\? )(open|openat|close|read|write|pread|pwrite|preadv|pwritev|stat|lstat|fstat|fstatat|statx|fsync|fdatasync|ftruncate|truncate|posix_fallocate|fallocate|posix_fadvise|fcntl|flock|unlink|unlinkat|rename|renameat|link|linkat|symlink|symlinkat|readlink|readlinkat|mkdir|mkdirat|rmdir|opendir|fdopendir|readdir|closedir|rewinddir|realpath|access|faccessat|dup|dup2|dup3|fchmod|fchmodat|chmod|fchown|fchownat|chown|lseek|fopen|fdopen|fclose|fgets|fread|fwrite|umask|flistxattr|fgetxattr|fsetxattr|listxattr|getxattr|setxattr|ioctl|statfs|fstatfs|copy_file_range|sendfile|madvise|mmap|munmap)\s*\((?!\))"#)

    /// An I/O error built by hand: from errno, or a `.io(call:...)` made outside the layer.
    static let handMadeError = try! NSRegularExpression(pattern: #"Errno\(rawValue:|Errno\.current|(?<![\w.])errno\s*[!=]=|\.io\(call:"#)

    /// The lines of `Sources/<module>` (outside the layer) that call libc for files or build an
    /// I/O error by hand, as "path:line: code". Comments and string literals are not code.
    static func offendingLines(in module: String) throws -> [String] {
        let root = TestPaths.repositoryRoot.appendingPathComponent("Sources/\(module)").path
        var found: [String] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: root).sorted() where file.hasSuffix(".swift") {
            let path = "Sources/\(module)/\(file)"
            if path == layer { continue }
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = codeOnly(String(line))
                let range = NSRange(code.startIndex..., in: code)
                if call.firstMatch(in: code, range: range) != nil || handMadeError.firstMatch(in: code, range: range) != nil {
                    found.append("\(path):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        return found
    }

    /// `line` without its comment and with its string literals emptied, their interpolations
    /// (`\(...)`, which are code) kept.
    static func codeOnly(_ line: String) -> String {
        let characters = Array(line)
        var code = ""
        var inLiteral = false
        var interpolationDepth = 0  // inside `\(...)` of a literal: code again
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
            index += 1
            if interpolationDepth > 0 {
                if character == "(" { interpolationDepth += 1 }
                if character == ")" { interpolationDepth -= 1 }
                code.append(character)
            } else if inLiteral {
                if character == "\\" {
                    index += 1  // the escaped character, or the "(" opening an interpolation
                    if next == "(" {
                        interpolationDepth = 1
                        code.append("(")
                    }
                } else if character == "\"" {
                    inLiteral = false
                    code.append(character)
                }
            } else if character == "\"" {
                inLiteral = true
                code.append(character)
            } else if character == "/" && next == "/" {
                break
            } else {
                code.append(character)
            }
        }
        return code
    }

    @Test(arguments: ["VHD", "ImageGallery"])
    func everyFileCallGoesThroughTheLayer(module: String) throws {
        let found = try Self.offendingLines(in: module)
        #expect(found.isEmpty, "libc file calls or hand-built I/O errors outside \(Self.layer):\n\(found.joined(separator: "\n"))")
    }

    /// The scan sees what it is meant to: a direct call, an errno turned into an error, and a
    /// `.io(call:)` made by hand; and not a method of the same name, a comment or a literal.
    @Test func theScanRecognizesDirectCalls() {
        let direct = [
            "guard fstat(file.descriptor.rawValue, &status) == 0 else {",
            "let descriptor = open(region.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)",
            "defer { close(descriptor) }",
            "if mkdir(path.string, 0o755) != 0 && errno != EEXIST {",
            "throw GalleryError(.io, \"cannot: \\(Errno(rawValue: errno))\")",
            "throw VHDError(path: name, .io(call: \"fsync\", offset: nil, errno: failure))",
        ]
        let innocent = [
            "try file.read(into: buffer, at: offset)",
            "let file = try open(path, lock: lock)",
            "public func close() { descriptor.closeQuietly() }",
            "var status = stat()",
            "// fsync(2) makes it durable",
            "let call = \"fsync(2)\"",
            "} catch where error.errno == .noSuchFileOrDirectory {",
            "throw .io(\"the folder '\\(path)' cannot be created\", error)",
        ]
        for line in direct {
            let code = Self.codeOnly(line)
            let range = NSRange(code.startIndex..., in: code)
            #expect(Self.call.firstMatch(in: code, range: range) != nil || Self.handMadeError.firstMatch(in: code, range: range) != nil, "\(line)")
        }
        for line in innocent {
            let code = Self.codeOnly(line)
            let range = NSRange(code.startIndex..., in: code)
            #expect(Self.call.firstMatch(in: code, range: range) == nil && Self.handMadeError.firstMatch(in: code, range: range) == nil, "\(line)")
        }
    }
}
