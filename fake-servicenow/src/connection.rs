//! Closing a client's connection with no HTTP response, for the "dropped
//! before/after apply" faults. A handler cannot do that through poem (a
//! response whose body fails still gets its status line out first), so the
//! fake accepts connections through a wrapper that knows each one by its
//! peer address: a handler marks its own connection, and from then on every
//! write to that socket fails, so hyper abandons the connection before the
//! status line is written and the socket is closed. The client reads EOF
//! where the response should be.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Live connections by peer address, each with its kill flag.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    live: Mutex<HashMap<SocketAddr, Arc<AtomicBool>>>,
}

impl Connections {
    /// Makes every further write to the connection from `peer` fail.
    /// False if no such connection is live.
    pub fn kill(&self, peer: SocketAddr) -> bool {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        match live.get(&peer) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    fn register(&self, peer: SocketAddr, flag: Arc<AtomicBool>) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.insert(peer, flag);
    }

    fn forget(&self, peer: SocketAddr, flag: &Arc<AtomicBool>) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.get(&peer).is_some_and(|f| Arc::ptr_eq(f, flag)) {
            live.remove(&peer);
        }
    }
}

/// A TCP acceptor whose connections can be killed by peer address.
pub(crate) struct KillableAcceptor {
    pub inner: TcpAcceptor,
    pub connections: Arc<Connections>,
}

impl Acceptor for KillableAcceptor {
    type Io = KillableStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        let killed = Arc::new(AtomicBool::new(false));
        let peer = remote.as_socket_addr().copied();
        if let Some(peer) = peer {
            self.connections.register(peer, killed.clone());
        }
        let stream = KillableStream {
            io,
            killed,
            peer,
            connections: self.connections.clone(),
        };
        Ok((stream, local, remote, scheme))
    }
}

/// A TCP stream that refuses all writes once killed.
pub(crate) struct KillableStream {
    io: TcpStream,
    killed: Arc<AtomicBool>,
    peer: Option<SocketAddr>,
    connections: Arc<Connections>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "injected connection drop",
            ));
        }
        Ok(())
    }
}

impl Drop for KillableStream {
    fn drop(&mut self) {
        if let Some(peer) = self.peer {
            self.connections.forget(peer, &self.killed);
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
