//! `ifc serve --tls-cert --tls-key`: HTTPS, gRPC over TLS and wss:// on one port, with a
//! throwaway CA's certificate made by the openssl CLI; real clients (curl, a rustls WebSocket, a
//! tonic channel over rustls). Plain HTTP to the TLS port fails cleanly, and a graceful
//! shutdown ends the open event feeds instead of waiting on them.

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ifc_integration_tests::grpc::{client_tls, pb, Grpc};
use ifc_integration_tests::serve::{ServeProcess, ADMIN_PASSWORD};
use rustls_pki_types::ServerName;
use tokio_rustls::rustls::{ClientConnection, StreamOwned};

/// A throwaway CA and a certificate it signed for `localhost` and 127.0.0.1 (P-256, one day),
/// made by the openssl CLI: (CA, certificate, key). A leaf under a CA, as in production:
/// rustls refuses a self-signed CA certificate used as the server's own.
fn certificates(dir: &Path) -> (String, String, String) {
    let path = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();
    let (ca, ca_key, cert, key, csr, ext) =
        (path("ca.pem"), path("ca.key"), path("cert.pem"), path("key.pem"), path("leaf.csr"), path("leaf.ext"));
    std::fs::write(&ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").expect("ext file");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let steps: [Vec<&str>; 3] = [
        [&["req", "-x509"][..], &ec, &["-days", "1", "-subj", "/CN=ifc test CA", "-keyout", &ca_key, "-out", &ca]]
            .concat(),
        [&["req"][..], &ec, &["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr]].concat(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    ];
    for args in steps {
        let out = Command::new("openssl").args(&args).output().expect("openssl runs (Debian: openssl)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    (ca, cert, key)
}

/// curl with `args`: (exit code, stdout).
fn curl(args: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs");
    eprintln!("curl {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn https_grpc_over_tls_and_wss_on_one_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = certificates(dir.path());
    let mut server = ServeProcess::start_with_args(
        &dir.path().join("data"),
        dir.path(),
        &[],
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    assert_eq!(server.scheme, "https", "the server announces https");
    let port = server.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let https = |path: &str| format!("https://localhost:{port}{path}");

    // HTTPS with the certificate trusted; refused without it; plain HTTP fails, not hangs.
    assert_eq!(curl(&["--cacert", &ca, "--resolve", &resolve, &https("/livez")]), (0, "ok\n".into()));
    let (untrusted, _) = curl(&["--resolve", &resolve, &https("/livez")]);
    assert_eq!(untrusted, 60, "curl: the test CA is not trusted by default");
    let (plain, _) = curl(&[&format!("http://127.0.0.1:{port}/livez")]);
    assert!(plain != 0 && plain != 28, "plain HTTP to the TLS port must fail at once (curl exit {plain})");
    let login = format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, tokens) = curl(&[
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "-H",
        "content-type: application/json",
        "-d",
        &login,
        &https("/api/v1/auth/login"),
    ]);
    assert_eq!(status, 0);
    let tokens: serde_json::Value = serde_json::from_str(&tokens).expect("login JSON");
    let token = tokens["access_token"].as_str().expect("access token").to_owned();

    // gRPC over TLS (ALPN h2) on the same port.
    let grpc = Grpc::connect_tls(server.addr, Path::new(&ca)).expect("gRPC over TLS connects").with_token(&token);
    let me = grpc
        .run(pb::auth_client::AuthClient::new(grpc.channel.clone()).me(grpc.request(pb::MeRequest {})))
        .expect("Auth.Me over TLS")
        .into_inner();
    assert_eq!(me.role, pb::Role::Admin as i32);
    let watched = grpc.watch(pb::WatchRequest::default()).expect("Events.Watch over TLS");

    // wss:// (ALPN http/1.1) with the same token.
    let config = client_tls(Path::new(&ca), &[b"http/1.1"]);
    let name = ServerName::try_from("localhost").expect("name");
    let tls = ClientConnection::new(Arc::clone(&config), name).expect("TLS client");
    let tcp = TcpStream::connect(server.addr).expect("TCP");
    tcp.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let url = format!("wss://localhost:{port}/api/v1/events");
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).expect("request");
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
    let (mut socket, response) =
        tungstenite::client::client(request, StreamOwned::new(tls, tcp)).expect("wss handshake");
    assert_eq!(response.status().as_u16(), 101);

    // An idle client whose runtime nobody drives would never answer HTTP/2's shutdown PING, and
    // the server would wait out its drain timeout for it: close it first.
    drop(grpc);
    // SIGTERM: both feeds end (the WebSocket with 1001 "going away", the gRPC stream with OK),
    // and the process exits 0 instead of waiting on them.
    assert!(server.terminate(Duration::from_secs(30)), "graceful shutdown with open feeds exits 0");
    match socket.read() {
        Ok(tungstenite::Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(watched.recv_timeout(Duration::from_secs(10)).is_err(), "the gRPC stream ended without an error or event");
}
