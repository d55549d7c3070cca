import ArgumentParser

/// `--store DIR|URL`: the gallery store, a folder or a PostgreSQL URL (else VHDTOOL_STORE,
/// else the user's data folder).
package struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: ArgumentHelp(
        "The store folder, or a postgres://user@host[:port]/database URL (password from $VHDTOOL_STORE_PASSWORD or $PGPASSWORD) (default: $VHDTOOL_STORE, else $XDG_DATA_HOME/vhdtool or ~/.local/share/vhdtool).",
        valueName: "dir|url"))
    package var folder: String?

    package init() {}
}
