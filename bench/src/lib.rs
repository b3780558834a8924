//! Benchmarks live in `benches/`; this crate exists so they build without the cloud SDKs.
