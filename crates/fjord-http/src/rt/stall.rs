//! A lazily armed tokio timer for stalls (`client_socket_timeout` on a
//! body read or a response write).

use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use tokio::time::Sleep;

/// A stall timer: armed when an operation first returns `Pending`,
/// dropped when it makes progress. Dropped rather than kept for the next
/// stall: while a timer sits in tokio's wheel the worker's sleeps carry a
/// timeout (see [`super::timeout`]), and stalls are rare.
#[derive(Debug, Default)]
pub(crate) struct StallTimer {
    sleep: Option<Pin<Box<Sleep>>>,
}

impl StallTimer {
    /// Polls the timer, arming it if needed; true once `limit` has passed.
    /// Cold: kept out of the callers' paths for bytes that move.
    #[cold]
    pub(crate) fn poll_expired(&mut self, limit: Duration, cx: &mut Context<'_>) -> bool {
        self.sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)))
            .as_mut()
            .poll(cx)
            .is_ready()
    }

    /// Forgets the timer: the operation made progress.
    pub(crate) fn disarm(&mut self) {
        // Tested first: on the usual write there is no timer, and an
        // assignment would call the drop glue.
        if self.sleep.is_some() {
            self.sleep = None;
        }
    }
}
