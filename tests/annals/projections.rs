//! The figures and the report folded from the log: every figure of the seed report
//! (`figures`), the "时间过半、任务过半" verdict (`pacing`), and the English wording
//! (`english`).
mod english;
pub(crate) mod figures;
pub(crate) mod pacing;
