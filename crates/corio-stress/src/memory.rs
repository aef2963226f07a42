//! Resident memory: read from `/proc/self/statm`, sampled by a thread for
//! the peak, and handed back to the OS with glibc's `malloc_trim`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The resident set size of this process in bytes (0 where `/proc` is
/// missing).
pub fn rss_bytes() -> u64 {
    statm_field(1) * page_size()
}

/// The anonymous part of the resident set (heap, stacks) in bytes: the
/// resident size less its file-backed part, which is mostly the binary's
/// own code, paged in the first time each function runs and not memory the
/// runtime holds.
pub fn anon_rss_bytes() -> u64 {
    statm_field(1).saturating_sub(statm_field(2)) * page_size()
}

/// Field `index` of `/proc/self/statm`, in pages.
fn statm_field(index: usize) -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(index)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0)
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a configuration value; no memory is involved.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// Returns freed heap memory to the OS. glibc keeps freed chunks in its
/// arenas (one per thread that allocated), so without this the resident
/// size after a phase says how much the allocator caches, not how much
/// corio holds.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own
    // arenas; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Samples [`rss_bytes`] every 5 ms on a thread of its own and keeps the
/// highest value, until [`PeakSampler::stop`].
pub struct PeakSampler {
    peak: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl PeakSampler {
    /// Starts sampling.
    pub fn start() -> PeakSampler {
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, done) = (peak.clone(), done.clone());
            thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                    thread::sleep(Duration::from_millis(5));
                }
            })
        };
        PeakSampler { peak, done, thread }
    }

    /// The highest resident size seen so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }

    /// Stops sampling and returns the highest resident size seen.
    pub fn stop(self) -> u64 {
        self.done.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

/// `bytes` in MiB with one decimal, for the table.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `bytes` in KiB, for the notes.
pub fn kib(bytes: u64) -> String {
    format!("{} KiB", bytes / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_memory_raises_the_resident_size_and_the_peak_sees_it() {
        let sampler = PeakSampler::start();
        let before = rss_bytes();
        assert!(before > 0);
        let block = vec![1u8; 32 << 20];
        let during = rss_bytes();
        assert!(during >= before + (16 << 20), "{before} -> {during}");
        // Long enough for several samples while the block is resident.
        std::thread::sleep(Duration::from_millis(50));
        drop(block);
        assert!(sampler.stop() >= during);
    }
}
