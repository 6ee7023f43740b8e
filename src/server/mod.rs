//! The server: HTTP routes, the two authentication backends, DB-hit accounting and the live
//! stream. Compiled only with the `ssr` feature.

pub mod account;
pub mod activity;
pub mod assets;
pub mod attack_lab;
pub mod config;
pub mod csrf;
pub mod db;
pub mod db_hits;
pub mod error;
pub mod jwks;
pub mod jwt_backend;
pub mod limits;
pub mod loopback;
pub mod live_stream;
pub mod pages;
pub mod rate_limit;
pub mod refresh;
pub mod revocation;
pub mod room;
pub mod router;
pub mod security_headers;
pub mod serving_urls;
pub mod services;
pub mod session_backend;
pub mod simulator;
pub mod site;
pub mod startup;
pub mod state;
pub mod token_inspector;
pub mod visitor;
