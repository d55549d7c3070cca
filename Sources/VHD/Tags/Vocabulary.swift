// The words a tag records (OS type and state, Hyper-V generation, architecture), Azure's tag
// rules and the snapshot cost live in the Foundation-free GalleryVocabulary, shared with the
// gallery; they are part of this module's API, so importing VHD brings them.
@_exported import GalleryVocabulary
