import ArgumentParser
import GalleryVocabulary

/// `--tag KEY=VALUE` as both programs read it (`vhdtool tag` and the gallery's commands):
/// GalleryVocabulary's one parser, its refusals worded as usage errors, so that a bad tag exits
/// 64 with the command's usage before anything is written or recorded.
package enum TagArguments {
    /// The `--tag` values as a dictionary.
    ///
    /// - Throws: `ValidationError` naming `--tag` for a value that is not KEY=VALUE, a key given
    ///   twice (ignoring case), or a key or value Azure refuses.
    package static func parse(_ values: [String]) throws(ValidationError) -> [String: String] {
        do {
            return try AzureTags.parse(values)
        } catch {
            throw ValidationError("--tag: \(error)")
        }
    }
}
