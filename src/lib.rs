//! trailproof: prove what an AWS CloudTrail evidence bundle does and does not show.
pub mod config;
pub mod findings;
pub mod time;
