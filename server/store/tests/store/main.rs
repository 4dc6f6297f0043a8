//! The store's integration tests, each run against SQLite and PostgreSQL: one test binary
//! (one link of the store and its database drivers instead of one per file).

mod automation;
mod csat;
mod intake;
mod presence;
mod reports;
mod search;
mod sla;
mod tickets;
mod views;
