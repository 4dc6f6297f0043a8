//! End-to-end tests: one binary (one link), a real server per test on 127.0.0.1.

mod api;
mod browser;
mod csat;
mod live;
mod mail;
mod mail_corpus;
mod plugins;
mod roles;
