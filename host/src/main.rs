//! `rrs`: the restore service binary. All of it lives in the library
//! (`rrs::cli`), so the test suite runs the same code.

fn main() -> std::process::ExitCode {
    rrs::cli::main()
}
