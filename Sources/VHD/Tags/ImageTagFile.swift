import FoundationEssentials
import SystemPackage

/// The sidecar file that holds an image's ``ImageTag``: the image's path with
/// ".vhdtool.json" appended (`disk.vhd` -> `disk.vhd.vhdtool.json`), JSON with sorted keys.
///
/// Written whole to a temporary file beside it and renamed into place, so a reader sees the
/// old record or the new one, never a mix.
public enum ImageTagFile {
    /// What is appended to the image's path to name its sidecar: ".vhdtool.json".
    public static let suffix = ".vhdtool.json"
    /// Sidecars are small; anything bigger is not one of ours.
    static let maximumSizeInBytes: Int64 = 1 << 20

    /// Where the tag of `image` lives: its path with ``suffix`` appended.
    ///
    /// - Parameter image: the image's path, as given (not resolved or normalized).
    /// - Returns: the sidecar's path, whether or not the file exists.
    public static func path(for image: FilePath) -> FilePath {
        FilePath(image.string + suffix)
    }

    /// The tag of `image`, or nil when it has none.
    ///
    /// - Parameter image: the image's path; the sidecar is read from ``path(for:)``.
    /// - Returns: the record, or nil when no sidecar exists.
    /// - Throws: ``VHDError`` when the sidecar exists but cannot be read, is not a tag record,
    ///   or has a newer format version.
    public static func read(for image: FilePath) throws(VHDError) -> ImageTag? {
        let path = path(for: image)
        let file: HostFile
        do {
            file = try HostFile.open(path, lock: false)  // a sidecar, no disk: checked a regular file
        } catch let error where error.errno == .noSuchFileOrDirectory {
            return nil
        }
        defer { file.close() }
        guard file.sizeInBytes <= maximumSizeInBytes else {
            throw VHDError(path: path.string, .tagUnreadable(reason: "it is \(file.sizeInBytes) bytes, larger than a tag record can be"))
        }
        var bytes = [UInt8](repeating: 0, count: Int(file.sizeInBytes))
        try bytes.withMutableBytes { (buffer) throws(VHDError) in try file.read(into: buffer, at: 0) }
        return try decode(bytes, path: path.string)
    }

    /// Parses a sidecar's bytes.
    static func decode(_ bytes: [UInt8], path: String) throws(VHDError) -> ImageTag {
        struct Version: Decodable { var formatVersion: Int }
        let decoder = JSONDecoder()
        let version: Int
        do {
            version = try decoder.decode(Version.self, from: Data(bytes)).formatVersion
        } catch {
            throw VHDError(path: path, .tagUnreadable(reason: "it is not a tag record (\(describe(error)))"))
        }
        guard version <= ImageTag.currentFormatVersion else {
            throw VHDError(path: path, .tagUnreadable(reason: "its format version \(version) is newer than this library reads (\(ImageTag.currentFormatVersion))"))
        }
        do {
            return try decoder.decode(ImageTag.self, from: Data(bytes))
        } catch {
            throw VHDError(path: path, .tagUnreadable(reason: describe(error)))
        }
    }

    /// The record as the sidecar holds it: pretty-printed JSON with sorted keys and a final newline.
    ///
    /// - Parameter tag: the record to encode.
    /// - Returns: the UTF-8 bytes of the file.
    public static func encode(_ tag: ImageTag) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Every field is a string, number, bool, array or dictionary of those: encoding cannot fail.
        let data = (try? encoder.encode(tag)) ?? Data()
        return Array(data) + [0x0A]
    }

    /// Writes `tag` as the sidecar of `image`, replacing any previous one.
    ///
    /// The file is written beside the sidecar and renamed over it, not synced to stable
    /// storage; a failed write leaves the previous sidecar as it was.
    ///
    /// - Parameters:
    ///   - tag: the record to write.
    ///   - image: the image's path; the sidecar goes to ``path(for:)``.
    /// - Throws: ``VHDError`` when the file cannot be written.
    public static func write(_ tag: ImageTag, for image: FilePath) throws(VHDError) {
        try OutputFile.withCreated(at: path(for: image), overwrite: true, sync: false) { output throws(VHDError) in
            try output.write(encode(tag), at: 0)
        }
    }

    /// A decoding error in one line: which key, what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func place(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "" : " at \"" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "\""
        }
        switch error {
        case let .keyNotFound(key, context): return "the key \"\(key.stringValue)\" is missing\(place(context.codingPath))"
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return context.debugDescription + place(context.codingPath)
        @unknown default: return "\(error)"
        }
    }
}
