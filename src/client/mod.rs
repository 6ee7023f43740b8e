//! Browser-side calls to the HTTP API and the live stream. The functions compile for the
//! server too, so that components can name them, but only do work in the browser.

pub mod api;
pub mod events;
pub mod room;
