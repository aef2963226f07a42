//! Unix domain sockets.

#![cfg(unix)]

mod util;

use std::io;

use corio_reactor::net::{UnixListener, UnixStream};
use util::{close, read_to_end, run, spawn, write_all};

#[test]
fn unix_listener_round_trip() {
    let dir = std::env::temp_dir().join(format!("corio-reactor-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    run(async {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let request = read_to_end(&mut stream).await.unwrap();
            write_all(&mut stream, &request).await.unwrap();
        });
        let mut stream = UnixStream::connect(&path).await.unwrap();
        write_all(&mut stream, b"over a unix socket").await.unwrap();
        close(&mut stream).await.unwrap();
        assert_eq!(
            read_to_end(&mut stream).await.unwrap(),
            b"over a unix socket"
        );
        server.await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unix_connect_to_a_missing_path_is_an_error() {
    run(async {
        let error = UnixStream::connect("/nonexistent/corio/socket")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    });
}
