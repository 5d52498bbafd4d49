//! Latencies as an HDR histogram (hdrhistogram): every sample kept to three significant
//! digits in a fixed few kilobytes, its percentiles read from it.
use hdrhistogram::Histogram;

/// Latencies recorded in nanoseconds, given and read back in milliseconds.
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        // Auto-resizing: a SQLite question may take seconds, an Annals one microseconds.
        Latencies(Histogram::new(3).expect("three significant digits is a valid precision"))
    }
}

impl Latencies {
    /// Notes one latency, in ms.
    pub fn record(&mut self, ms: f64) {
        let nanos = (ms * 1e6).round().max(0.0) as u64;
        self.0
            .record(nanos)
            .expect("an auto-resizing histogram takes any value");
    }

    /// How many were recorded.
    pub fn len(&self) -> usize {
        self.0.len() as usize
    }

    /// The latency (ms) at quantile `q` (0..=1); NaN with none recorded.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.value_at_quantile(q) as f64 / 1e6
    }

    /// Adds every latency of `other`.
    pub fn add(&mut self, other: &Latencies) {
        self.0
            .add(&other.0)
            .expect("an auto-resizing histogram takes any value");
    }
}
