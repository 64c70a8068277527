//! A fault-injecting TCP proxy on loopback, standing in for a network or server outage
//! without losing the server's state (moto keeps its objects in memory: restarting it would
//! empty the bucket). Up: every connection is relayed to the target. Down: open connections
//! are cut and new ones are closed at once, as a server that is gone.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub struct TcpProxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    /// Both ends of every relayed connection, to cut them when going down.
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and relays to `target`; up at first.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("address").port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, open2) = (Arc::clone(&up), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else { continue };
                let mut open = open2.lock().unwrap_or_else(PoisonError::into_inner);
                open.retain(|s: &TcpStream| s.peer_addr().is_ok());
                for s in [&client, &server] {
                    if let Ok(clone) = s.try_clone() {
                        open.push(clone);
                    }
                }
                relay(&client, &server);
                relay(&server, &client);
            }
        });
        Self { port, up, open }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Down: open connections are cut, new ones closed on accept.
    pub fn set_down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn set_up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` → `to` on a thread until either side ends.
fn relay(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        let _ = from.shutdown(Shutdown::Read);
    });
}
