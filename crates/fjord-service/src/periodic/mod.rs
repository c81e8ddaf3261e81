//! Periodic tasks on a manager (oslo.service `periodic_task`). Work in progress.
