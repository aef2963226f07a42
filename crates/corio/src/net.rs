//! TCP, UDP and Unix domain sockets, and the [`Server`] of
//! [`start_server`](crate::start_server).
//!
//! Every socket registers with the IO reactor of the loop it is created on,
//! so create sockets inside [`run`](crate::run) (or another corio loop). On a
//! loop whose driver has no IO, or outside any loop, they fail with an
//! [`std::io::Error`] of kind [`Unsupported`](std::io::ErrorKind::Unsupported)
//! instead of panicking. Streams implement the futures-io traits; the
//! awaitable `read` / `write_all` helpers are in [`corio::io`](crate::io).
//!
//! # Examples
//!
//! ```
//! use corio::io::{AsyncReadExt, AsyncWriteExt};
//! use corio::net::{TcpListener, TcpStream};
//!
//! corio::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let mut client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (mut server_side, _peer) = listener.accept().await?;
//!     client.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     server_side.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub use crate::streams::Server;
pub use corio_reactor::net::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, UdpSocket, WriteHalf,
};
#[cfg(unix)]
pub use corio_reactor::net::{UnixListener, UnixStream};
