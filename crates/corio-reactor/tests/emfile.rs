//! Accepting with no file descriptors left: the error reaches the caller, the
//! listener stays usable and does not spin. Runs the real check in a child
//! process (this binary, re-executed) so that the lowered limit harms nothing
//! else.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream as StdTcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use corio_core::Driver;
use corio_reactor::net::TcpListener;
use corio_reactor::Reactor;

const CHILD_ENV: &str = "CORIO_REACTOR_EMFILE_CHILD";
const TEST_NAME: &str = "accept_survives_emfile_without_busy_spinning";
const CLIENTS: usize = 40;
/// Descriptor numbers left free below the limit.
const HEADROOM: u64 = 8;
const RETRY_WINDOW: Duration = Duration::from_millis(200);
const RETRY_SLEEP: Duration = Duration::from_millis(10);

#[test]
fn accept_survives_emfile_without_busy_spinning() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut transcript = String::new();
    let port: u16 = loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "child ended early:\n{transcript}"
        );
        transcript.push_str(&line);
        // The harness may print its own text before ours on the same line.
        if let Some(index) = line.find("PORT ") {
            break line[index + "PORT ".len()..].trim().parse().unwrap();
        }
    };
    // The parent's descriptors are not limited: all clients connect (the
    // kernel completes the handshakes into the listener's backlog).
    let clients: Vec<StdTcpStream> = (0..CLIENTS)
        .map(|_| StdTcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"connected\n")
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    transcript.push_str(&rest);
    let status = child.wait().unwrap();
    drop(clients);
    assert!(status.success(), "child failed:\n{transcript}");
    assert!(
        transcript.contains("CHILD OK"),
        "child did not run the check:\n{transcript}"
    );
}

/// The descriptor limit that leaves exactly `free` unused descriptor numbers
/// below it (new descriptors take the lowest free number below the limit;
/// inherited high descriptors do not count).
fn limit_leaving(free: u64) -> u64 {
    let open: std::collections::HashSet<u64> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .collect();
    let mut left = free;
    let mut number = 0;
    while left > 0 {
        if !open.contains(&number) {
            left -= 1;
        }
        number += 1;
    }
    number
}

fn cpu_time() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call's duration.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let micros = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn child() {
    let mut reactor = Reactor::new().unwrap();
    let listener = util::block_on(&mut reactor, TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();

    let limit = limit_leaving(HEADROOM);
    let mut rlimit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rlimit` is a valid, writable struct for the call's duration.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlimit) };
    assert_eq!(got, 0);
    rlimit.rlim_cur = limit.min(rlimit.rlim_max);
    // SAFETY: `rlimit` is a valid struct for the call's duration.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) }, 0);

    println!("PORT {port}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();

    // Accept until the descriptors run out.
    let mut accepted = Vec::new();
    let error = loop {
        match util::block_on(&mut reactor, listener.accept()) {
            Ok((stream, _)) => accepted.push(stream),
            Err(error) => break error,
        }
    };
    assert_eq!(error.raw_os_error(), Some(libc::EMFILE), "{error:?}");
    assert!(accepted.len() < CLIENTS);

    // Retry the way the docs advise, sleeping between attempts; the
    // reactor must sleep too rather than report the listener ready forever.
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut failures = 0;
    while started.elapsed() < RETRY_WINDOW {
        let error = util::block_on(&mut reactor, listener.accept()).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EMFILE));
        failures += 1;
        reactor.park(Some(RETRY_SLEEP)).unwrap();
    }
    let cpu_used = cpu_time() - cpu_before;
    assert!(failures >= 2);
    assert!(
        cpu_used < RETRY_WINDOW / 2,
        "the retry loop used {cpu_used:?} of CPU in a {RETRY_WINDOW:?} window"
    );

    // Once descriptors are free again the same listener takes everyone left.
    let mut total = accepted.len();
    drop(accepted);
    while total < CLIENTS {
        let (stream, _) = util::block_on(&mut reactor, listener.accept()).unwrap();
        drop(stream);
        total += 1;
    }
    println!("CHILD OK: {failures} failed retries, {cpu_used:?} CPU");
}
