//! Integration tests. Each test starts the real server on a loopback port with its own data
//! directory and sends it HTTP requests, as a browser would.

mod common;

mod attack_lab;
mod bad_input;
mod jwt_attacks;
mod limits;
mod hardening;
mod live_stream;
mod pages;
mod postgres;
mod process;
mod refresh;
mod restart;
mod revocation;
mod room;
mod services;
mod signing_algorithms;
mod simulations;
mod token_inspector;
