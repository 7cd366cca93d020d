//! Files arriving from the window a piece at a time. The window reads a
//! file in slices (never whole) and each slice crosses as one command; the
//! engine reads the pieces as one stream inside its one write, so a large
//! file costs the app a few pieces of memory, not the file.
//!
//! A file that stops arriving (the window closed or reloaded, a slice that
//! could not be read, nothing for [`SILENCE`]) ends the engine's read with
//! an error, and the engine keeps none of it; so does a file that arrives
//! longer or shorter than the window announced.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{CommandError, CommandResult, FieldProblem};

/// How long the engine waits for the next piece before it gives the file up
/// (and lets go of the store, which it holds while the file arrives).
pub const SILENCE: Duration = Duration::from_secs(60);

/// Pieces the window may be ahead of the engine: the rest wait in the
/// window, so memory here is bounded whatever the file's size.
const AHEAD: usize = 2;

/// The largest piece taken, in bytes (the window sends 1 MiB).
pub const MOST_PIECE: usize = 4 * 1024 * 1024;

/// What crosses from the commands to the engine's read.
enum Piece {
    Bytes(Zeroizing<Vec<u8>>),
    End,
}

/// The engine's side: a [`Read`] over the pieces as they arrive.
pub struct PieceStream {
    pieces: Receiver<Piece>,
    current: Zeroizing<Vec<u8>>,
    at: usize,
    announced: u64,
    arrived: u64,
    ended: bool,
    silence: Duration,
}

impl Read for PieceStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.current.len() {
                let n = buf.len().min(self.current.len() - self.at);
                buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.pieces.recv_timeout(self.silence) {
                Ok(Piece::Bytes(bytes)) => {
                    self.arrived += bytes.len() as u64;
                    if self.arrived > self.announced {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            NotWhole("the file grew while it was being added; add it again"),
                        ));
                    }
                    self.current = bytes;
                    self.at = 0;
                }
                Ok(Piece::End) if self.arrived == self.announced => self.ended = true,
                Ok(Piece::End) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        NotWhole("the file did not arrive whole; add it again"),
                    ));
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        NotWhole("the file stopped arriving; add it again"),
                    ));
                }
            }
        }
    }
}

/// The commands' side of one file: where its pieces go, and the engine's
/// answer once it has read them.
struct Arriving<T> {
    pieces: SyncSender<Piece>,
    answer: tauri::async_runtime::JoinHandle<CommandResult<T>>,
}

/// The files arriving now, by the id the window was given for each.
pub struct Incoming<T> {
    files: Mutex<HashMap<Uuid, Arriving<T>>>,
    silence: Duration,
}

impl<T: Send + 'static> Default for Incoming<T> {
    fn default() -> Self {
        Self::with_silence(SILENCE)
    }
}

impl<T: Send + 'static> Incoming<T> {
    /// Gives a file up after `silence` without a piece.
    pub fn with_silence(silence: Duration) -> Self {
        Self {
            files: Mutex::new(HashMap::new()),
            silence,
        }
    }

    /// Starts a file of `announced` bytes: `read` runs at once on the
    /// blocking pool with the stream of its pieces. Returns the file's id.
    pub fn begin<F>(&self, announced: u64, read: F) -> Uuid
    where
        F: FnOnce(PieceStream) -> CommandResult<T> + Send + 'static,
    {
        let (pieces, receiver) = sync_channel(AHEAD);
        let stream = PieceStream {
            pieces: receiver,
            current: Zeroizing::new(Vec::new()),
            at: 0,
            announced,
            arrived: 0,
            ended: false,
            silence: self.silence,
        };
        let answer = tauri::async_runtime::spawn_blocking(move || read(stream));
        let id = Uuid::now_v7();
        self.lock().insert(id, Arriving { pieces, answer });
        id
    }

    /// Hands one piece over, waiting while the engine is two pieces
    /// behind. If the engine has stopped reading (it refused the file), its
    /// answer is the error.
    pub async fn piece(&self, file: Uuid, bytes: Zeroizing<Vec<u8>>) -> CommandResult<()> {
        if bytes.len() > MOST_PIECE {
            self.abandon(file).await;
            return Err(not_whole(
                "a piece of the file was larger than the desk takes; add it again",
            ));
        }
        let sender = self.lock().get(&file).map(|a| a.pieces.clone());
        let sender = sender.ok_or_else(gone)?;
        let sent = tauri::async_runtime::spawn_blocking(move || sender.send(Piece::Bytes(bytes)))
            .await
            .map_err(|e| CommandError::internal(format!("a worker thread failed: {e}")))?;
        match sent {
            Ok(()) => Ok(()),
            Err(_) => match self.answer(file).await? {
                Ok(_) => Err(CommandError::internal(
                    "the desk finished reading a file before its end",
                )),
                Err(e) => Err(e),
            },
        }
    }

    /// Says the file is whole and waits for the engine's answer.
    pub async fn finish(&self, file: Uuid) -> CommandResult<T> {
        let sender = self.lock().get(&file).map(|a| a.pieces.clone());
        let sender = sender.ok_or_else(gone)?;
        // A closed channel means the engine already answered (an error).
        let _ = tauri::async_runtime::spawn_blocking(move || sender.send(Piece::End)).await;
        self.answer(file).await?
    }

    /// Gives the file up: the engine's read fails and it keeps nothing.
    /// Returns once it has let go of the store.
    pub async fn abandon(&self, file: Uuid) {
        let _ = self.answer(file).await;
    }

    /// Gives up every file still arriving (the desk locked).
    pub async fn abandon_all(&self) {
        let files: Vec<Uuid> = self.lock().keys().copied().collect();
        for file in files {
            self.abandon(file).await;
        }
    }

    /// Takes the file out and waits for the engine's answer (closing its
    /// stream first, so a read still waiting for pieces ends).
    async fn answer(&self, file: Uuid) -> CommandResult<CommandResult<T>> {
        let Arriving { pieces, answer } = self.lock().remove(&file).ok_or_else(gone)?;
        drop(pieces);
        answer
            .await
            .map_err(|e| CommandError::internal(format!("a worker thread failed: {e}")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arriving<T>>> {
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn gone() -> CommandError {
    not_whole("this file is no longer being added (it stopped arriving); add it again")
}

/// Why the engine's read of a file's pieces failed, inside its I/O error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NotWhole(&'static str);

/// A file that did not arrive whole: refused by the rule
/// `evidence_not_whole`, which the window words in the person's language.
pub fn not_whole(message: impl Into<String>) -> CommandError {
    let message = message.into();
    CommandError {
        kind: "invalid_input",
        fields: vec![FieldProblem {
            field: "evidence".into(),
            rule: "evidence_not_whole",
            message: message.clone(),
        }],
        message,
    }
}

/// The engine's error, or [`not_whole`] where it failed because the
/// file's pieces stopped, or came longer or shorter than announced.
pub fn explain(e: hirc_core::Error) -> CommandError {
    if let hirc_core::Error::Io { source, .. } = &e
        && let Some(why) = source.get_ref().and_then(|e| e.downcast_ref::<NotWhole>())
    {
        return not_whole(why.0);
    }
    CommandError::from(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the whole stream, as the engine does (its read errors wrapped
    /// as the engine wraps them); the answer is what arrived.
    fn whole(mut stream: PieceStream) -> CommandResult<Vec<u8>> {
        let mut out = Vec::new();
        stream.read_to_end(&mut out).map_err(|source| {
            explain(hirc_core::Error::Io {
                context: "reading the file".into(),
                source,
            })
        })?;
        Ok(out)
    }

    fn bytes(b: &[u8]) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(b.to_vec())
    }

    #[tokio::test]
    async fn pieces_arrive_as_one_stream() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming.begin(6, whole);
        incoming.piece(file, bytes(b"abc")).await.expect("piece");
        incoming.piece(file, bytes(b"def")).await.expect("piece");
        assert_eq!(incoming.finish(file).await.expect("answer"), b"abcdef");
        // Taken out once answered.
        assert_eq!(
            incoming.finish(file).await.expect_err("gone").kind,
            "invalid_input"
        );
    }

    #[tokio::test]
    async fn a_file_shorter_or_longer_than_announced_is_not_whole() {
        let incoming = Incoming::<Vec<u8>>::default();
        let short = incoming.begin(6, whole);
        incoming.piece(short, bytes(b"abc")).await.expect("piece");
        let e = incoming.finish(short).await.expect_err("short");
        assert!(e.message.contains("did not arrive whole"), "{e:?}");
        assert_eq!(e.fields[0].rule, "evidence_not_whole");

        let long = incoming.begin(2, whole);
        // The engine stops at the excess: this piece or the next is
        // answered with its error.
        let first = incoming.piece(long, bytes(b"abc")).await;
        let e = match first {
            Err(e) => e,
            Ok(()) => incoming.finish(long).await.expect_err("long"),
        };
        assert!(e.message.contains("grew"), "{e:?}");
        assert_eq!(e.fields[0].rule, "evidence_not_whole");
    }

    #[tokio::test]
    async fn an_abandoned_or_silent_file_ends_the_read() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming.begin(6, whole);
        incoming.piece(file, bytes(b"abc")).await.expect("piece");
        incoming.abandon(file).await;
        assert!(incoming.lock().is_empty());
        let (one, two) = (incoming.begin(1, whole), incoming.begin(1, whole));
        incoming.abandon_all().await;
        assert!(incoming.lock().is_empty());
        assert!(incoming.piece(one, bytes(b"a")).await.is_err());
        assert!(incoming.finish(two).await.is_err());

        // Nothing arrives: the read gives up by itself (the window closed).
        let quiet = Incoming::<Vec<u8>>::with_silence(Duration::from_millis(1));
        let file = quiet.begin(6, whole);
        let e = quiet.finish(file).await;
        // Either the End arrived after the wait gave up, or before it with
        // nothing: neither is a whole file.
        assert!(e.is_err(), "{e:?}");
    }

    #[tokio::test]
    async fn a_refusal_reaches_the_next_piece() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming.begin(10, |mut stream: PieceStream| {
            let mut head = [0u8; 1];
            stream.read_exact(&mut head).expect("head");
            Err(CommandError::new(
                "invalid",
                "not a kind of file the desk takes",
            ))
        });
        // The refusal comes back on a later piece, whichever: the channel
        // holds AHEAD pieces before it closes.
        let mut answer = Ok(());
        for _ in 0..AHEAD + 3 {
            answer = incoming.piece(file, bytes(b"x")).await;
            if answer.is_err() {
                break;
            }
        }
        let e = answer.expect_err("refused");
        assert_eq!(e.kind, "invalid");
        assert!(incoming.lock().is_empty());
    }

    #[tokio::test]
    async fn a_piece_over_the_limit_gives_the_file_up() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming.begin(10 * MOST_PIECE as u64, whole);
        let e = incoming
            .piece(file, Zeroizing::new(vec![0; MOST_PIECE + 1]))
            .await
            .expect_err("too large");
        assert_eq!(e.kind, "invalid_input");
        assert!(incoming.lock().is_empty());
    }
}
