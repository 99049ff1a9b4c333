//! The moto launcher: a server that answers, and that goes away with its owner.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use azp_testkit::Moto;

/// moto routes a request by the service in its credential scope.
fn post(port: u16, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261125/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn shared_server_answers_sts() {
    let moto = Moto::shared();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let reply = post(moto.port(), "Action=GetCallerIdentity&Version=2011-06-15");
    assert!(
        reply.contains("<Arn>arn:aws:sts::123456789012:user/moto</Arn>"),
        "{reply}"
    );
}

#[test]
fn a_dropped_server_stops() {
    let moto = Moto::start();
    let port = moto.port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(moto);
    let mut closed = false;
    for _ in 0..50 {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(closed, "moto still listens on {port} after drop");
}
