// glibc's malloc spent a third of the server's CPU under load (profiled
// with the benchmark); mimalloc serves the many small, short-lived
// allocations of a GraphQL response much faster. (Also letting it
// serve SQLite's own allocations, its `override` feature, raised peak RSS by
// a quarter for no throughput: not used.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    api::allocator::configure();
    api::cli::main()
}
