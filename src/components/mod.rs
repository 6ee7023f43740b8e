//! The dashboard's UI components.

pub mod attack_lab;
pub mod chart;
pub mod claims;
pub mod clock;
pub mod comparison;
pub mod dashboard;
pub mod dashboard_state;
pub mod db_activity;
pub mod live_log;
pub mod load_simulator;
pub mod numbers;
pub mod panels;
pub mod presenter;
pub mod room_status;
pub mod services;
pub mod session_controls;
pub mod sign_in;
pub mod simulation;
pub mod token_inspector;
pub mod token_storage;
