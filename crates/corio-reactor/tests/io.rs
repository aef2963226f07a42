//! BufReader, UDP and Unix sockets.

mod util;

use std::io;

use corio_reactor::io::{BufReader, LimitOverrunError};
use corio_reactor::net::{UdpSocket, UnixListener, UnixStream};
use util::{close, read_to_end, run, spawn, write_all};

#[test]
fn read_line_read_until_and_read_exact_follow_the_stream() {
    run(async {
        let (mut left, right) = UnixStream::pair().unwrap();
        let writer = spawn(async move {
            // Written in pieces that cut across lines and records.
            for piece in [
                &b"first li"[..],
                b"ne\nsecond\nrec",
                b"ord\0\x01\x02\x03",
                b"\x04tail",
            ] {
                write_all(&mut left, piece).await.unwrap();
                util::sleep(std::time::Duration::from_millis(2)).await;
            }
            close(&mut left).await.unwrap();
        });
        let mut reader = BufReader::new(right);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 11);
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 7);
        assert_eq!(line, "first line\nsecond\n");
        let mut record = Vec::new();
        assert_eq!(reader.read_until(0, &mut record).await.unwrap(), 7);
        assert_eq!(record, b"record\0");
        let mut exact = [0; 4];
        reader.read_exact(&mut exact).await.unwrap();
        assert_eq!(exact, [1, 2, 3, 4]);
        // The last line has no newline: it comes back at end-of-file.
        line.clear();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 4);
        assert_eq!(line, "tail");
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 0);
        writer.await;
    });
}

#[test]
fn early_end_of_file_in_read_exact_is_unexpected_eof() {
    run(async {
        let (mut left, right) = UnixStream::pair().unwrap();
        write_all(&mut left, b"abc").await.unwrap();
        drop(left);
        let mut reader = BufReader::new(right);
        let mut buf = [0; 8];
        let error = reader.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
    });
}

#[test]
fn a_line_over_the_limit_is_a_typed_error_and_the_reader_goes_on() {
    run(async {
        let (mut left, right) = UnixStream::pair().unwrap();
        let mut data = vec![b'x'; 100];
        data.extend_from_slice(b"\nshort\n");
        write_all(&mut left, &data).await.unwrap();
        drop(left);
        let mut reader = BufReader::new(right).with_limit(64);
        let mut line = Vec::new();
        let error = reader.read_until(b'\n', &mut line).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let overrun = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<LimitOverrunError>())
            .expect("the error holds a LimitOverrunError");
        assert_eq!(overrun.limit(), 64);
        assert_eq!(line.len(), 64);
        // The rest of the long line, then the next line, still read fine.
        line.clear();
        assert_eq!(reader.read_until(b'\n', &mut line).await.unwrap(), 37);
        let mut next = String::new();
        reader.read_line(&mut next).await.unwrap();
        assert_eq!(next, "short\n");
    });
}

#[test]
fn a_line_of_exactly_the_limit_is_accepted() {
    run(async {
        let (mut left, right) = UnixStream::pair().unwrap();
        write_all(&mut left, b"1234567\n").await.unwrap();
        drop(left);
        let mut reader = BufReader::new(right).with_limit(8);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 8);
    });
}

#[test]
fn invalid_utf8_lines_are_invalid_data() {
    run(async {
        let (mut left, right) = UnixStream::pair().unwrap();
        write_all(&mut left, b"\xff\xfe\n").await.unwrap();
        drop(left);
        let mut reader = BufReader::new(right);
        let mut line = String::new();
        let error = reader.read_line(&mut line).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(line.is_empty());
    });
}

#[test]
fn buf_reader_passes_writes_through() {
    run(async {
        let (left, mut right) = UnixStream::pair().unwrap();
        let mut reader = BufReader::new(left);
        write_all(&mut reader, b"through").await.unwrap();
        close(&mut reader).await.unwrap();
        assert_eq!(read_to_end(&mut right).await.unwrap(), b"through");
    });
}

#[test]
fn udp_round_trip_with_and_without_connect() {
    run(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let echo = spawn(async move {
            let mut buf = [0; 1500];
            for _ in 0..2 {
                let (len, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..len], from).await.unwrap();
            }
        });
        client.send_to(b"one", server_addr).await.unwrap();
        let mut buf = [0; 1500];
        let (len, from) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..len], from), (&b"one"[..], server_addr));
        client.connect(server_addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        client.send(b"two").await.unwrap();
        let len = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"two");
        echo.await;
    });
}

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
