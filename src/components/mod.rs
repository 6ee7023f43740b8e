//! The dashboard's UI components.

pub mod chart;
pub mod claims;
pub mod comparison;
pub mod dashboard;
pub mod dashboard_state;
pub mod db_activity;
pub mod live_log;
pub mod load_simulator;
pub mod numbers;
pub mod panels;
pub mod session_controls;
pub mod sign_in;
pub mod simulation;
