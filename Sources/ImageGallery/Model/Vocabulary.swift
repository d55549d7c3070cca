// The gallery's words (OS types and states, Hyper-V generations, architectures) live in the
// Foundation-free GalleryVocabulary, which `vhdtool` links too; they are part of this module's
// API, so importing ImageGallery brings them.
@_exported import GalleryVocabulary
