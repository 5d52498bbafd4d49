//! Issue 6, trust: the tests that would catch a lost, duplicated or forged event, or a
//! fall on hostile input. `RELIABILITY.md` says what each proves and how to run the long
//! variants; run them with `--nocapture` to see the cases and kills they counted.
//! Issue 13's attacks on the page from inside are in `page`.
mod clerk;
mod concurrency;
mod crash;
mod fuzz;
mod holes;
mod insider;
mod page;
mod tamper;
mod tokens;
