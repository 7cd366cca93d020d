//! A TCP proxy between a desk and a hub that applies faults, one per
//! connection, and counts what it passes on.

use std::io::Write;

/// What the fault proxy does to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass it through untouched.
    None,
    /// Close it at once, without a word.
    Drop,
    /// Wait, then pass it through.
    Delay(std::time::Duration),
    /// Forward the first bytes of the request, then cut the connection.
    ResetMidBody,
    /// Forward the request, but only the first bytes of the answer.
    TruncateResponse,
    /// Answer 503 with `Retry-After: 1` without asking the hub.
    Unavailable,
    /// Forward this many bytes of the request, then cut the connection (a
    /// large upload cut part way).
    ResetAfter(usize),
}

/// A TCP proxy on loopback that applies a cycle of faults, one per
/// connection, between a desk and a hub.
pub struct FaultProxy {
    /// The address desks should use.
    pub addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    upward: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` cycling through `faults`.
    pub fn start(upstream: std::net::SocketAddr, faults: Vec<Fault>) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let upward = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = upward.clone();
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let fault = faults[n % faults.len()];
                        n += 1;
                        let counted = counted.clone();
                        std::thread::spawn(move || proxy_one(client, upstream, fault, &counted));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        Self { addr, stop, upward }
    }

    /// Bytes passed on towards the hub so far (requests, headers included).
    pub fn bytes_up(&self) -> u64 {
        self.upward.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn proxy_one(
    mut client: std::net::TcpStream,
    upstream: std::net::SocketAddr,
    fault: Fault,
    upward: &std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::io::Read;
    use std::net::Shutdown;
    let _ = client.set_nonblocking(false);
    match fault {
        Fault::Drop => return,
        Fault::Unavailable => {
            let mut buf = [0u8; 4096];
            let _ = client.read(&mut buf);
            let body = r#"{"error":"unavailable","message":"down for maintenance"}"#;
            let _ = write!(
                client,
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
        Fault::Delay(d) => std::thread::sleep(d),
        _ => {}
    }
    let Ok(mut server) = std::net::TcpStream::connect(upstream) else {
        return;
    };
    let (Ok(mut client_r), Ok(mut server_w)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up_limit = match fault {
        Fault::ResetMidBody => Some(300),
        Fault::ResetAfter(n) => Some(n),
        _ => None,
    };
    let down_limit = if fault == Fault::TruncateResponse {
        Some(40)
    } else {
        None
    };
    let counted = upward.clone();
    let upward = std::thread::spawn(move || {
        copy_limited(&mut client_r, &mut server_w, up_limit, Some(&counted));
        let _ = server_w.shutdown(Shutdown::Both);
        let _ = client_r.shutdown(Shutdown::Both);
    });
    copy_limited(&mut server, &mut client, down_limit, None);
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = upward.join();
}

fn copy_limited(
    from: &mut std::net::TcpStream,
    to: &mut std::net::TcpStream,
    limit: Option<usize>,
    counted: Option<&std::sync::atomic::AtomicU64>,
) {
    use std::io::Read;
    let mut buf = [0u8; 16 * 1024];
    let mut sent = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let n = limit.map_or(n, |l| n.min(l.saturating_sub(sent)));
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
        if let Some(counted) = counted {
            counted.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        sent += n;
        if limit.is_some_and(|l| sent >= l) {
            return;
        }
    }
}
