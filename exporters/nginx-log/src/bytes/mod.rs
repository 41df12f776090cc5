//! The byte tricks the hot path is built on, in one place: [`words`] loads, compares and
//! classifies eight bytes at a time in a `u64` (SWAR: no `unsafe`, no per-byte loop);
//! [`search`] finds bytes and literals in short fields with them; [`scan`] classifies a whole
//! line 64 bytes at a time with SIMD compares. Each fast function has a property test against
//! the plain byte loop it stands for, beside it.

pub mod scan;
pub mod search;
pub mod words;
