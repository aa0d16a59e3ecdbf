//! The one integration-test binary (one link step, as uv and ripgrep do).
//!
//! - `common`: the `trailproof()` command builder and report helpers.
//! - `conformance`: the acceptance bundles in `../shared/conformance`.
//! - `fixture`: builds signed bundles with the fixed test key in `testdata/`.
//! - `fixture_selftest`: proves the fixture builder writes what AWS writes.
//! - `cli`: arguments, exit codes, outputs, evidence left untouched.
//! - `hostile`: corrupt and malicious inputs.
//! - `scenarios`: integrity and coverage cases the conformance set lacks.

mod bench_bundle;
mod cli;
mod common;
mod conformance;
mod fixture;
mod fixture_selftest;
mod hostile;
mod scenarios;
