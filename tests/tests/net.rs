//! `start_server` when the process runs out of file descriptors: the accept
//! error is reported, the server waits and tries again, and serves once
//! descriptors are free.
//!
//! Exhausting descriptors would disturb the other tests of this process, so
//! the test re-runs itself in a child process with a low `RLIMIT_NOFILE`
//! (set by `sh`'s `ulimit`) and checks the child's exit status and stderr.

use std::fs::File;
use std::io;
use std::process::Command;
use std::time::Duration;

use corio::io::AsyncWriteExt;

const CHILD_ENV: &str = "CORIO_TESTS_EMFILE_CHILD";
const TEST_NAME: &str = "start_server_survives_running_out_of_file_descriptors";

#[test]
fn start_server_survives_running_out_of_file_descriptors() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" --exact \"$1\" --nocapture --test-threads=1")
        .arg(exe)
        .arg(TEST_NAME)
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("child: echoed after running out of descriptors"),
        "the child did not run the scenario:\n{stdout}"
    );
    assert!(
        stderr.contains("cannot accept connections") && stderr.contains("retrying in 100 ms"),
        "the accept error was not reported:\n{stderr}"
    );
}

/// Runs in the child process, under a descriptor limit of 64.
fn child() {
    corio::run(async {
        let server = corio::start_server("127.0.0.1:0", |mut reader, mut writer| async move {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).await?;
            writer.write_all(&line).await
        })
        .await?;
        let addr = server.local_addr()?;

        // Take every free descriptor, then give one back for the client.
        let mut hoard = Vec::new();
        loop {
            match File::open("/dev/null") {
                Ok(file) => hoard.push(file),
                Err(error) if error.raw_os_error() == Some(24) => break, // EMFILE
                Err(error) => return Err(error),
            }
        }
        hoard.pop();
        let (mut reader, mut writer) = corio::open_connection(addr).await?;
        writer.write_all(b"hello\n").await?;

        // The server's accept fails with EMFILE in the meantime; it reports
        // that and sleeps 100 ms before its next try.
        corio::sleep(Duration::from_millis(20)).await;
        hoard.clear();

        // Bounded, so that a server that stopped accepting fails the test
        // instead of hanging it.
        let mut echo = String::new();
        corio::time::timeout(Duration::from_secs(10), reader.read_line(&mut echo))
            .await
            .map_err(|_| io::Error::other("no echo within 10 s: the server stopped accepting"))??;
        assert_eq!(echo, "hello\n");
        println!("child: echoed after running out of descriptors");
        io::Result::Ok(())
    })
    .unwrap_or_else(|error| panic!("child: {error}"));
}
