//! A loopback proxy in front of the emulator that SIGKILLs a process at an exact moment of one
//! request: once the emulator has acted on the first request containing a given byte string
//! (e.g. `Action=AllocateAddress`) and answered it, the process is killed and the answer is
//! never delivered — the "AWS acted, hdh never recorded it" case, without timing races. Every
//! other request passes through untouched. The emulator answers one request per connection.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// What to kill, and when.
struct Trigger {
    needle: Vec<u8>,
    pid: u32,
}

#[derive(Default)]
struct Shared {
    armed: Option<Trigger>,
    /// The needle of the trigger that fired.
    fired: Option<String>,
}

pub struct Killer {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl Killer {
    /// Forwards `127.0.0.1:<new port>` to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Killer {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let s = shared.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let s = s.clone();
                thread::spawn(move || relay(client, server, &s));
            }
        });
        Killer { port, shared }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills `pid` (SIGKILL) when the emulator answers the next request containing `needle`.
    pub fn arm(&self, needle: &str, pid: u32) {
        let mut s = self.shared.lock().unwrap();
        s.armed = Some(Trigger {
            needle: needle.as_bytes().to_vec(),
            pid,
        });
        s.fired = None;
    }

    /// The needle whose request killed the process, if it happened.
    pub fn fired(&self) -> Option<String> {
        self.shared.lock().unwrap().fired.clone()
    }
}

/// One connection: the request goes up as it comes (and is kept to match); the answer comes
/// back unless the request matched the armed trigger, in which case the process dies first.
fn relay(client: TcpStream, server: TcpStream, shared: &Arc<Mutex<Shared>>) {
    let seen = Arc::new(Mutex::new(Vec::<u8>::new()));
    {
        let (mut from, mut to, seen) = (
            client.try_clone().unwrap(),
            server.try_clone().unwrap(),
            seen.clone(),
        );
        thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        // Kept before it is sent, so it is here when the answer arrives.
                        seen.lock().unwrap().extend_from_slice(&buf[..n]);
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    }
    let (mut from, mut to) = (server, client);
    let mut buf = [0u8; 16 * 1024];
    let mut first = true;
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if first {
                    first = false;
                    if fire_if_matching(&seen.lock().unwrap(), shared) {
                        let _ = to.shutdown(Shutdown::Both);
                        return;
                    }
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn fire_if_matching(request: &[u8], shared: &Arc<Mutex<Shared>>) -> bool {
    let mut s = shared.lock().unwrap();
    let Some(t) = &s.armed else {
        return false;
    };
    if !request
        .windows(t.needle.len())
        .any(|w| w == t.needle.as_slice())
    {
        return false;
    }
    let killed = std::process::Command::new("kill")
        .args(["-9", &t.pid.to_string()])
        .status()
        .is_ok_and(|st| st.success());
    assert!(killed, "kill -9 {} failed", t.pid);
    s.fired = Some(String::from_utf8_lossy(&t.needle).into_owned());
    s.armed = None;
    true
}
