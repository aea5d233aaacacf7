//! The `wprescue` binary: everything is in the library; see `wprescue::cli`.

fn main() -> std::process::ExitCode {
    wprescue::cli::main()
}
