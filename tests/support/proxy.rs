//! A loopback TCP proxy in front of the emulator that a test can break (every open connection
//! is shut and new ones are closed at once) and repair, to make S3 unreachable mid-run.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct Proxy {
    port: u16,
    broken: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    /// Bytes the client sent upstream (requests: headers and bodies).
    sent: Arc<AtomicU64>,
}

impl Proxy {
    /// Forwards `127.0.0.1:<new port>` to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let broken = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let (b, o, counted) = (broken.clone(), open.clone(), sent.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if b.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                {
                    let mut o = o.lock().unwrap();
                    o.push(client.try_clone().unwrap());
                    o.push(server.try_clone().unwrap());
                }
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(counted.clone()),
                );
                pipe(server, client, None);
            }
        });
        Proxy {
            port,
            broken,
            open,
            sent,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Cuts every open connection and refuses new ones until [`Proxy::repair`].
    pub fn cut(&self) {
        self.broken.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Bytes sent upstream so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    pub fn repair(&self) {
        self.broken.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either side closes, counting the bytes in `counter`.
fn pipe(mut from: TcpStream, mut to: TcpStream, counter: Option<Arc<AtomicU64>>) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(c) = &counter {
                        c.fetch_add(n as u64, Ordering::SeqCst);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
