//! The traffic simulator: virtual users that sign in and request pages over real HTTP on
//! loopback, through the same routes and middleware as a browser.

pub mod export;
pub mod registry;
pub mod routes;
pub mod runner;

pub use registry::{ServerWideLimits, SimulationRegistry};
