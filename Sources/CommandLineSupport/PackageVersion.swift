/// The version of vhdtool: the one place it is written. `vhdtool --version` and
/// `vhdtool-gallery --version` print it; a release changes it here (and tags the commit).
public enum PackageVersion {
    /// MAJOR.MINOR.PATCH, as semantic versioning reads it.
    public static let current = "0.4.0"
}
