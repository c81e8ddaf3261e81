//! Notifications (SPEC M10, WIRE.md §9): a [`Notifier`] publishing
//! `messagingv2` (or legacy `messaging`) notifications to
//! `<topic>.<priority>`, and a [`NotificationListener`] dispatching them by
//! priority.

mod listener;
mod message;
mod notifier;

pub use listener::{
    NotificationEndpoint, NotificationListener, NotificationListenerBuilder, NotificationResult,
};
pub use message::{Notification, Priority, python_timestamp};
pub use notifier::{Notifier, NotifierDriver};
