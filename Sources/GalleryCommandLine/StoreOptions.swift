import ArgumentParser

/// `--store DIR`: the gallery store (else VHDTOOL_STORE, else the user's data folder).
package struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: ArgumentHelp(
        "The store folder (default: $VHDTOOL_STORE, else $XDG_DATA_HOME/vhdtool or ~/.local/share/vhdtool).",
        valueName: "dir"))
    package var folder: String?

    package init() {}
}
