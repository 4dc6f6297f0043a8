//! The web UI's logic that needs no browser: what `tandem-web` shows and parses, as plain
//! functions over the wire types of `tandem-proto`. Nothing here knows Leptos, `web-sys` or
//! the DOM, so it builds for the host too and its unit tests run with the rest of the suite
//! (`tandem-web` itself is built only for `wasm32-unknown-unknown`).
//!
//! Map: [`i18n`] every string (the catalogues in `i18n/*.json`, checked by `build.rs`),
//! [`labels`] human labels for wire enums, [`route`] the address bar's routes, [`filter`] a
//! ticket list's query, [`keys`] the keyboard shortcuts, [`mention`] `@mentions` in the
//! composer, [`timeline`] how bodies and events read, [`hours`] the SLA form's text formats,
//! [`reports`] report figures, [`reconnect`] the live channel's backoff, [`recipients`] the
//! composer's Cc and Bcc fields.

pub mod filter;
pub mod hours;
pub mod i18n;
pub mod keys;
pub mod labels;
pub mod mention;
pub mod reconnect;
pub mod recipients;
pub mod reports;
pub mod route;
pub mod timeline;
