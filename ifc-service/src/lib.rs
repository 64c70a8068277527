//! `ifc-service`: the service layer of ifc (`ifc serve`). The one place for the async
//! runtime and the network: the REST/WebSocket API ([`api`]), auth ([`auth`]), the metadata
//! store ([`db`]: SQLite or PostgreSQL through sqlx), objects ([`objects`]), events
//! ([`events`]: a transactional outbox and its relay) and running inspections
//! ([`inspections`]), which drive libifc's blocking stream threads. [`run_store`] is `ifc
//! run`'s results file on the same SQL layer.
//!
//! libifc never sees tokio: CPU work (decoding, preprocessing, inference) runs on libifc's own
//! threads behind bounded queues, and model loading and Triton connections go through
//! `spawn_blocking`, so Triton's client never nests a runtime in the service's.

pub mod api;
pub mod auth;
pub mod camera_policy;
pub mod config;
pub mod db;
pub mod distribute;
pub mod events;
pub mod ingest;
pub mod grpc;
pub mod inspections;
pub mod objects;
pub mod recorder;
pub mod listen;
pub mod media;
pub mod run_store;
mod serve;
pub mod shutdown;

pub use serve::{serve, FirstAdmin, Served};
