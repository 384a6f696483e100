//! The `refund-desk` program, built inside this package so its black-box tests
//! can start it as a real OS process (Cargo only tells a package's tests
//! where that package's own binaries are).

fn main() -> std::process::ExitCode {
    api::cli::main()
}
