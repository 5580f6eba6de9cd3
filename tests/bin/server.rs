//! The `rrs` command line, built inside the test package so end-to-end
//! tests that need real processes (restarts, crashes, several replicas)
//! can start it as `CARGO_BIN_EXE_rrs-e2e-server`.

fn main() -> std::process::ExitCode {
    rrs::cli::main()
}
