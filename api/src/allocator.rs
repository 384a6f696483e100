//! Tuning of mimalloc, the global allocator of the `refund-desk` binary (and
//! of the bench binary, so both benchmarked servers run with it).

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// `mi_option_purge_delay`: its position in mimalloc v3's `mi_option_e`
/// (the Rust crate leaves numeric options unnamed; the test below checks
/// that this position still holds the purge delay).
const PURGE_DELAY: mi_option_t = 15;

/// `mi_option_allow_thp`, likewise (checked by the same test).
const ALLOW_THP: mi_option_t = 43;

/// Milliseconds before freed memory is returned to the OS.
///
/// mimalloc v3 waits a second, which keeps more memory resident at the peak
/// of concurrent dashboard pages than 10 ms (v2's default) for no throughput
/// gain; 0 (return at once) cost throughput (BENCHMARKS.md has the figures).
const PURGE_DELAY_MS: i64 = 10;

/// Applies the settings above and turns transparent huge pages off; call
/// first thing in `main`, before threads start (mimalloc's option setters
/// are not thread-safe). An operator's `MIMALLOC_PURGE_DELAY` or
/// `MIMALLOC_ALLOW_THP` in the environment wins.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: plain setter of a process-wide integer, called from the
        // single thread that exists at the start of `main`.
        unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS as _) }
    }
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        disable_transparent_huge_pages();
    }
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        limit_c_arenas();
    }
}

/// Arenas of the C library's allocator, which SQLite allocates from (Rust
/// code allocates from mimalloc).
const C_ARENAS: i32 = 2;

/// glibc gives each thread that allocates its own arena, up to 8 per core,
/// and an arena keeps what it was given. SQLite runs each connection on a
/// thread of its own, so a pool of ten kept up to ten arenas resident: two
/// shared arenas kept the peak RSS of both benchmarked servers about 3 MiB
/// lower under 32 dashboard clients, at the same throughput (BENCHMARKS.md).
fn limit_c_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes integers and sets a process-wide allocator
    // parameter; called before any other thread exists (see `configure`).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, C_ARENAS);
    }
}

/// mimalloc asks the kernel for transparent huge pages on its arenas
/// (`madvise(MADV_HUGEPAGE)`), so a touched arena is resident in 2 MiB
/// steps, and a purge returns nothing smaller. Under 32 concurrent pages on
/// SQLite that was about 16 MiB of the peak RSS, for no throughput gain
/// (BENCHMARKS.md). mimalloc turns THP off for the process when its option
/// says so at start-up, which has passed by the time `main` runs, so we make
/// the same call it would, and set the option for its later arenas.
fn disable_transparent_huge_pages() {
    // SAFETY: plain setter of a process-wide integer, as above.
    unsafe { mi_option_set(ALLOW_THP, 0) }
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes a
    // flag of this process; a failure (an old kernel) leaves THP as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// The purge delay in effect, in milliseconds.
pub fn purge_delay_ms() -> i64 {
    // SAFETY: plain getter of a process-wide integer.
    unsafe { mi_option_get(PURGE_DELAY) as i64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when the kernel will not give this process transparent huge pages.
    #[cfg(target_os = "linux")]
    fn transparent_huge_pages_disabled() -> bool {
        // SAFETY: PR_GET_THP_DISABLE reads a flag of this process.
        unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 }
    }

    #[test]
    fn the_options_are_where_we_set_them() {
        // v3's documented defaults for these positions and their neighbours;
        // other options there (after an upgrade) would have other defaults.
        let get = |option: mi_option_t| unsafe { mi_option_get(option) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), 1000);
        }
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            // page_cross_thread_max_reclaim, allow_thp, minimal_purge_size.
            assert_eq!(
                [get(ALLOW_THP - 1), get(ALLOW_THP), get(ALLOW_THP + 1)],
                [32, 1, 0]
            );
        }
        configure();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
        }
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(get(ALLOW_THP), 0);
            #[cfg(target_os = "linux")]
            assert!(transparent_huge_pages_disabled());
        }
    }
}
