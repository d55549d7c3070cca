// The gallery's words (OS types and states, Hyper-V generations, architectures, storage account
// types, target regions, Azure's tag rules) live in the Foundation-free GalleryVocabulary, which
// VHD and `vhdtool` use too; they are part of this module's API, so importing ImageGallery
// brings them.
@_exported import GalleryVocabulary

/// The gallery's former name of `OSType` (GalleryVocabulary): one enum serves the gallery and tags.
public typealias GalleryOSType = OSType
/// The gallery's former name of `OSState` (GalleryVocabulary): one enum serves the gallery and tags.
public typealias GalleryOSState = OSState
/// The gallery's former name of `HyperVGeneration` (GalleryVocabulary): one enum serves the gallery and tags.
public typealias GalleryHyperVGeneration = HyperVGeneration
/// The gallery's former name of `Architecture` (GalleryVocabulary): one enum serves the gallery and tags.
public typealias GalleryArchitecture = Architecture
