//! `BufReader`: asyncio's `StreamReader` shapes over a real stream.

#![cfg(unix)]

use std::io;

use corio::io::{AsyncReadExt, AsyncWriteExt, BufReader, LimitOverrunError};
use corio::net::UnixStream;

/// A `BufReader` over a stream that yields `data`, then end-of-file.
async fn reader_of(data: &[u8]) -> BufReader<UnixStream> {
    let (mut writer, reader) = UnixStream::pair().unwrap();
    writer.write_all(data).await.unwrap();
    BufReader::new(reader)
}

#[test]
fn read_line_read_until_and_read_exact_follow_the_stream() {
    corio::run(async {
        let (mut left, right) = UnixStream::pair().unwrap();
        let writer = corio::spawn_local(async move {
            // Written in pieces that cut across lines and records.
            for piece in [
                &b"first li"[..],
                b"ne\nsecond\nrec",
                b"ord\0\x01\x02\x03",
                b"\x04tail",
            ] {
                left.write_all(piece).await.unwrap();
                corio::sleep(std::time::Duration::from_millis(2)).await;
            }
            left.close().await.unwrap();
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
        writer.await.unwrap();
    });
}

#[test]
fn early_end_of_file_in_read_exact_is_unexpected_eof() {
    corio::run(async {
        let mut reader = reader_of(b"abc").await;
        let mut buf = [0; 8];
        let error = reader.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
    });
}

#[test]
fn a_line_over_the_limit_is_a_typed_error_and_the_reader_goes_on() {
    corio::run(async {
        let mut data = vec![b'x'; 100];
        data.extend_from_slice(b"\nshort\n");
        let mut reader = reader_of(&data).await.with_limit(64);
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
    corio::run(async {
        let mut reader = reader_of(b"1234567\n").await.with_limit(8);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 8);
    });
}

#[test]
fn invalid_utf8_lines_are_invalid_data() {
    corio::run(async {
        let mut reader = reader_of(b"\xff\xfe\n").await;
        let mut line = String::new();
        let error = reader.read_line(&mut line).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(line.is_empty());
    });
}

#[test]
fn buf_reader_passes_writes_through() {
    corio::run(async {
        let (left, mut right) = UnixStream::pair().unwrap();
        let mut reader = BufReader::new(left);
        reader.write_all(b"through").await.unwrap();
        reader.close().await.unwrap();
        let mut received = Vec::new();
        right.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"through");
    });
}
