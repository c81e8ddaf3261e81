//! Process titles, so `ps` tells the master from its workers.
//!
//! Sets the kernel's `comm` (`ps -o comm`, `top`; 15 bytes) with
//! `PR_SET_NAME`, and rewrites the argument area the kernel shows as
//! `/proc/<pid>/cmdline` (`ps aux`), truncated to its original length.
//! After this, `std::env::args()` in this process reads the title, so the
//! launcher sets titles only after the command line has been parsed.

use std::ffi::CString;

/// Sets the title of this process. Best effort: failures are ignored.
pub(crate) fn set(title: &str) {
    let comm: String = title
        .trim_start_matches("fjord: ")
        .chars()
        .filter(|c| *c != '\0')
        .take(15)
        .collect();
    if let Ok(c) = CString::new(comm) {
        let _ = nix::sys::prctl::set_name(&c);
    }
    if let Some((start, end)) = arg_area() {
        let len = end.saturating_sub(start);
        if len < 2 {
            return;
        }
        let bytes = title.as_bytes();
        let n = bytes.len().min(len - 1);
        // SAFETY: [start, end) is this process's own argument area (the
        // kernel's arg_start/arg_end from /proc/self/stat): writable memory
        // at the top of the main thread's stack, holding the argv strings.
        // We write strictly inside it and end it with NUL bytes.
        unsafe {
            let p = start as *mut u8;
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
            std::ptr::write_bytes(p.add(n), 0, len - n);
        }
    }
}

/// `(arg_start, arg_end)` of this process (fields 48 and 49 of /proc/self/stat).
fn arg_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields restart after ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let start = fields.get(48 - 3)?.parse().ok()?;
    let end = fields.get(49 - 3)?.parse().ok()?;
    (start != 0 && end > start).then_some((start, end))
}

/// Number of threads of this process (field 20 of /proc/self/stat).
pub(crate) fn thread_count() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(20 - 3)?.parse().ok()
}
