//! The phases of the stress run, one module each, and what they share.

pub mod mt_churn;
pub mod slow_reader;
pub mod tasks;
pub mod tcp;
pub mod timers;

/// What a phase reports: its row of the table (less the memory and time
/// columns, which the runner measures) and a note printed under the table.
#[derive(Debug)]
pub struct Outcome {
    /// What the phase put on the runtime.
    pub load: String,
    /// The faults it injected.
    pub faults: String,
    /// The count it expects.
    pub expected: u64,
    /// The count it saw; the phase fails unless it equals `expected`.
    pub seen: u64,
    /// Whether every other check of the phase passed.
    pub ok: bool,
    /// Details: limits raised, latencies, the checks that failed.
    pub note: String,
}

impl Outcome {
    /// The row of a phase that could not run: `error` says why.
    pub fn failed(error: String) -> Outcome {
        Outcome {
            load: "-".into(),
            faults: "-".into(),
            expected: 1,
            seen: 0,
            ok: false,
            note: format!("FAILED: {error}"),
        }
    }
}

/// A little of each phase's work, once, before the first phase; see the
/// memory rule in the crate docs.
pub fn warm_up() -> Result<(), String> {
    let mut event_loop = corio::EventLoop::new().map_err(|e| e.to_string())?;
    event_loop
        .run_until_complete(async {
            let listener = corio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let client = corio::spawn_local(corio::net::TcpStream::connect(addr));
            let (_server_side, _) = listener.accept().await?;
            let _client_side = client
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            corio::to_thread(|| ())
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            corio::sleep(std::time::Duration::from_millis(1)).await;
            Ok::<_, std::io::Error>(())
        })
        .map_err(|e| e.to_string())?;
    drop(event_loop);
    mt_churn::warm_up()
}

/// The byte at `offset` of the stream numbered `stream`: every byte of every
/// connection is predictable, so the receiver verifies each one.
pub fn pattern_byte(stream: u64, offset: u64) -> u8 {
    (stream
        .wrapping_mul(131)
        .wrapping_add(offset.wrapping_mul(7))
        % 251) as u8
}

/// Fills `buf` with the bytes of `stream` from `offset` on.
pub fn fill_pattern(stream: u64, offset: u64, buf: &mut [u8]) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte = pattern_byte(stream, offset + i as u64);
    }
}

/// The number of bytes of `buf` that differ from the pattern of `stream`
/// at `offset`.
pub fn pattern_mismatches(stream: u64, offset: u64, buf: &[u8]) -> u64 {
    buf.iter()
        .enumerate()
        .filter(|&(i, &byte)| byte != pattern_byte(stream, offset + i as u64))
        .count() as u64
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit; returns
/// (old soft limit, new soft limit).
pub fn raise_nofile() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let old = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((old, limit.rlim_cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_buffer_matches_its_pattern_and_a_changed_byte_is_counted() {
        let mut buf = [0; 300];
        fill_pattern(5, 1000, &mut buf);
        assert_eq!(pattern_mismatches(5, 1000, &buf), 0);
        assert_ne!(pattern_mismatches(6, 1000, &buf), 0, "streams differ");
        buf[17] ^= 1;
        assert_eq!(pattern_mismatches(5, 1000, &buf), 1);
    }
}
