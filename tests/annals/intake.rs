//! Intake, the one way in: the same refusal on every front end (`fronts`), the JSONL
//! format (`jsonl`), hostile files that must not exhaust memory (`hostile`), and targets
//! that must name a metric (`targets`). Workbooks and CSV are in `office::sheets`.
mod fronts;
mod hostile;
mod jsonl;
mod targets;
