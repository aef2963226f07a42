//! Memory: the resident size, read from `/proc/self/statm` and sampled by a
//! thread for the peak; freed memory handed back to the OS with glibc's
//! `malloc_trim`; and the live heap, counted exactly by the global
//! allocator [`CountingAlloc`], which tells a leak from allocator caching.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
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

/// The system allocator, counting the bytes currently allocated through it.
pub struct CountingAlloc;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counter only observes the sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator (that is, from `System`)
        // with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, and
        // `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The bytes allocated and not yet freed, in the whole process.
pub fn live_heap_bytes() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Fixes glibc's mmap threshold at its initial 128 KiB. glibc raises it
/// after the first large buffer is freed, so that later large buffers come
/// from the main heap, where a few small survivors around them keep whole
/// pages resident after they are freed: megabytes that read as growth
/// though nothing is alive (the live heap count shows it).
pub fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets an allocator parameter; it takes no pointer.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
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
    use std::sync::Mutex;

    /// The two tests measure the whole process's memory; each holds this
    /// lock so that the other's 32 MiB block is never counted in its own
    /// figures (under a sanitizer the tests slow down enough to overlap).
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    #[test]
    fn touching_memory_raises_the_resident_size_and_the_peak_sees_it() {
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
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

    #[test]
    fn the_live_heap_count_follows_an_allocation_and_its_free() {
        // Other tests allocate concurrently: the block is big enough to
        // stand out.
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let before = live_heap_bytes();
        let block = vec![0u8; 64 << 20];
        assert!(live_heap_bytes() - before >= 60 << 20);
        drop(block);
        assert!(live_heap_bytes() - before < 4 << 20);
    }
}
