//! Runs `examples/hello_http.rs`: it serves, and on SIGINT it closes its
//! idle keep-alive connections and exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The example's binary, built by `cargo test` next to this test's
/// `deps/` folder (or built now when only this test was asked for).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("examples").join("hello_http");
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "corio-hyper", "--example", "hello_http"])
            .status()
            .unwrap();
        assert!(status.success(), "cannot build the example");
    }
    binary
}

/// Sends one keep-alive request and returns the response head and body.
fn get(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0; 1024];
    while !response.ends_with(b"Hello, world!\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(response).unwrap()
}

#[test]
#[cfg_attr(
    corio_asan,
    ignore = "runs the example as a separate process, which `cargo xtask asan` does not build; the adapter's code runs under ASan in tests/http.rs"
)]
fn serves_until_ctrl_c_then_shuts_down_gracefully() {
    let mut server = Command::new(example_binary())
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();

    let mut idle = TcpStream::connect(&address).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    for _ in 0..2 {
        let response = get(&mut idle);
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    }

    // The shell's `kill` builtin: no binary of procps needed.
    let killed = Command::new("sh")
        .args(["-c", "kill -INT \"$0\"", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // The idle keep-alive connection is closed by the server.
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");
    let status = server.wait().unwrap();
    let mut output = String::new();
    stdout.read_to_string(&mut output).unwrap();
    assert!(status.success(), "{status}: {output}");
    assert_eq!(output, "shutting down: 1 connection(s) open\nshut down\n");
    // It no longer accepts.
    assert!(TcpStream::connect(&address).is_err());
}
