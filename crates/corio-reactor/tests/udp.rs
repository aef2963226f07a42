//! UDP sockets.

mod util;

use corio_reactor::net::UdpSocket;
use util::{run, spawn};

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
