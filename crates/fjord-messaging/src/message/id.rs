//! Ids: `_unique_id`, `_msg_id` and the uuid part of queue names, each a
//! version 4 UUID as 32 lowercase hex characters (WIRE.md §3.1, §4.3).

use std::cell::Cell;

use rand::Rng;

thread_local! {
    /// The process this thread's generator was last seeded in (0: not
    /// yet): a forked child must not draw the ids its parent draws.
    static SEEDED_IN: Cell<u32> = const { Cell::new(0) };
}

/// A new `_unique_id` / `_msg_id`: uuid4 as 32 lowercase hex characters.
///
/// The random bits come from the thread's generator (`rand`'s ChaCha
/// `ThreadRng`, seeded from the OS), reseeded when the thread first draws
/// an id in a process: after a fork the child's generator holds its
/// parent's state, so without it both would draw the same ids. An id then
/// costs no system call but `getpid`.
pub fn new_id() -> String {
    let mut rng = rand::rng();
    let pid = std::process::id();
    if SEEDED_IN.get() != pid {
        if rng.reseed().is_err() {
            // No OS randomness to reseed from: an id of its own from it.
            return uuid::Uuid::new_v4().simple().to_string();
        }
        SEEDED_IN.set(pid);
    }
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
    id.simple().encode_lower(&mut buf).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid4_hex_and_differ() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        }
    }
}
