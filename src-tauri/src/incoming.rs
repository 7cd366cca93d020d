//! Files arriving from the window a piece at a time. The window reads a
//! file in slices (never whole) and each slice crosses as one command; the
//! engine reads the pieces as one stream inside its one write, so the
//! crossing costs the app a few pieces of memory, not the file (a document
//! streams on into the store; a picture is still read whole, up to its
//! limit, because its pixels are decoded and encoded again).
//!
//! A file that stops arriving (the window closed or reloaded, a slice that
//! could not be read, nothing for [`SILENCE`]) ends the engine's read with
//! an error, and the engine keeps none of it; so does a file that arrives
//! out of order, or longer or shorter than the window announced.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{CommandError, CommandResult, FieldProblem};

/// How long the engine waits for the next piece before it gives the file up
/// (and lets go of the store, which it holds while the file arrives, so
/// autosave and uploads wait as long).
pub const SILENCE: Duration = Duration::from_secs(30);

/// Files arriving at once: the window adds one at a time, and each holds a
/// thread of the blocking pool while it arrives.
pub const MOST_ARRIVING: usize = 2;

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
    /// Bytes handed over so far: where the next piece must begin.
    sent: u64,
    answer: tauri::async_runtime::JoinHandle<CommandResult<T>>,
}

/// A stream of `announced` bytes, and where its pieces go.
fn stream(announced: u64, silence: Duration) -> (SyncSender<Piece>, PieceStream) {
    let (pieces, receiver) = sync_channel(AHEAD);
    let stream = PieceStream {
        pieces: receiver,
        current: Zeroizing::new(Vec::new()),
        at: 0,
        announced,
        arrived: 0,
        ended: false,
        silence,
    };
    (pieces, stream)
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
    pub fn begin<F>(&self, announced: u64, read: F) -> CommandResult<Uuid>
    where
        F: FnOnce(PieceStream) -> CommandResult<T> + Send + 'static,
    {
        let mut files = self.lock();
        if files.len() >= MOST_ARRIVING {
            return Err(CommandError::new(
                "conflict",
                "other files are still being added: wait for them, then add this one",
            ));
        }
        let (pieces, stream) = stream(announced, self.silence);
        let answer = tauri::async_runtime::spawn_blocking(move || read(stream));
        let id = Uuid::now_v7();
        files.insert(
            id,
            Arriving {
                pieces,
                sent: 0,
                answer,
            },
        );
        Ok(id)
    }

    /// Hands over the piece that begins `at` bytes into the file, waiting
    /// while the engine is two pieces behind. If the engine has stopped
    /// reading (it refused the file), its answer is the error.
    pub async fn piece(&self, file: Uuid, at: u64, bytes: Zeroizing<Vec<u8>>) -> CommandResult<()> {
        if bytes.len() > MOST_PIECE {
            self.abandon(file).await;
            return Err(not_whole(
                "a piece of the file was larger than the desk takes; add it again",
            ));
        }
        let sender = {
            let mut files = self.lock();
            let arriving = files.get_mut(&file).ok_or_else(gone)?;
            (arriving.sent == at).then(|| {
                arriving.sent += bytes.len() as u64;
                arriving.pieces.clone()
            })
        };
        let Some(sender) = sender else {
            self.abandon(file).await;
            return Err(not_whole(
                "a piece of the file arrived out of order; add it again",
            ));
        };
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

    /// Says the file is whole and waits for the engine's answer. The file
    /// is taken out first: a lock meanwhile does not give up a file that
    /// has arrived whole, and the answer is always the engine's own.
    pub async fn finish(&self, file: Uuid) -> CommandResult<T> {
        let Arriving { pieces, answer, .. } = self.lock().remove(&file).ok_or_else(gone)?;
        // A closed channel means the engine already answered (an error).
        let _ = tauri::async_runtime::spawn_blocking(move || pieces.send(Piece::End)).await;
        answer
            .await
            .map_err(|e| CommandError::internal(format!("a worker thread failed: {e}")))?
    }

    /// Gives the file up: the engine's read fails and it keeps nothing.
    /// Returns once it has let go of the store.
    pub async fn abandon(&self, file: Uuid) {
        let _ = self.answer(file).await;
    }

    /// Gives up every file still arriving (the desk locked, or the window
    /// loaded its page again).
    pub async fn abandon_all(&self) {
        let files: Vec<Uuid> = self.lock().keys().copied().collect();
        for file in files {
            self.abandon(file).await;
        }
    }

    /// Takes the file out and waits for the engine's answer (closing its
    /// stream first, so a read still waiting for pieces ends).
    async fn answer(&self, file: Uuid) -> CommandResult<CommandResult<T>> {
        let Arriving { pieces, answer, .. } = self.lock().remove(&file).ok_or_else(gone)?;
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

    /// `f`, failing (not hanging) if a given-up file's read never ends.
    async fn within<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(60), f)
            .await
            .expect("the engine's read ended")
    }

    #[tokio::test]
    async fn pieces_arrive_as_one_stream() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming.begin(6, whole).expect("begin");
        incoming.piece(file, 0, bytes(b"abc")).await.expect("piece");
        incoming.piece(file, 3, bytes(b"def")).await.expect("piece");
        assert_eq!(incoming.finish(file).await.expect("answer"), b"abcdef");
        // Taken out once answered.
        let e = incoming.finish(file).await.expect_err("gone");
        assert_eq!(e.fields[0].rule, "evidence_not_whole");
    }

    #[tokio::test]
    async fn a_file_shorter_longer_or_out_of_order_is_not_whole() {
        let incoming = Incoming::<Vec<u8>>::default();
        let short = incoming.begin(6, whole).expect("begin");
        incoming
            .piece(short, 0, bytes(b"abc"))
            .await
            .expect("piece");
        let e = incoming.finish(short).await.expect_err("short");
        assert!(e.message.contains("did not arrive whole"), "{e:?}");
        assert_eq!(e.fields[0].rule, "evidence_not_whole");

        let long = incoming.begin(2, whole).expect("begin");
        // The engine stops at the excess: this piece or the end is
        // answered with its error.
        let e = match incoming.piece(long, 0, bytes(b"abc")).await {
            Err(e) => e,
            Ok(()) => incoming.finish(long).await.expect_err("long"),
        };
        assert!(e.message.contains("grew"), "{e:?}");
        assert_eq!(e.fields[0].rule, "evidence_not_whole");

        let swapped = incoming.begin(6, whole).expect("begin");
        let e = within(incoming.piece(swapped, 3, bytes(b"def")))
            .await
            .expect_err("out of order");
        assert!(e.message.contains("out of order"), "{e:?}");
        assert!(incoming.lock().is_empty());
    }

    #[tokio::test]
    async fn an_abandoned_file_ends_the_read_and_leaves_nothing_waiting() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming.begin(6, whole).expect("begin");
        incoming.piece(file, 0, bytes(b"abc")).await.expect("piece");
        within(incoming.abandon(file)).await;
        assert!(incoming.lock().is_empty());

        // A lock (or the page loaded again) gives up every file arriving.
        let one = incoming.begin(1, whole).expect("begin");
        let two = incoming.begin(1, whole).expect("begin");
        within(incoming.abandon_all()).await;
        assert!(incoming.lock().is_empty());
        assert!(incoming.piece(one, 0, bytes(b"a")).await.is_err());
        assert!(incoming.finish(two).await.is_err());
    }

    #[tokio::test]
    async fn a_file_that_stops_arriving_is_given_up_by_the_engine() {
        // The window still "there" (its sender kept), but silent.
        let (pieces, mut silent) = stream(6, Duration::from_millis(1));
        let e = silent.read(&mut [0u8; 4]).expect_err("silent");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(pieces);
        // The window gone: its sender dropped.
        let (pieces, mut left) = stream(6, SILENCE);
        drop(pieces);
        let e = left.read(&mut [0u8; 4]).expect_err("gone");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn no_more_than_two_files_arrive_at_once() {
        let incoming = Incoming::<Vec<u8>>::default();
        let files = [
            incoming.begin(1, whole).expect("one"),
            incoming.begin(1, whole).expect("two"),
        ];
        let e = incoming.begin(1, whole).expect_err("three");
        assert_eq!(e.kind, "conflict");
        within(incoming.abandon(files[0])).await;
        let three = incoming.begin(1, whole).expect("room again");
        incoming.piece(three, 0, bytes(b"a")).await.expect("piece");
        assert_eq!(incoming.finish(three).await.expect("answer"), b"a");
        within(incoming.abandon_all()).await;
    }

    #[tokio::test]
    async fn a_refusal_reaches_the_next_piece() {
        let incoming = Incoming::<Vec<u8>>::default();
        let file = incoming
            .begin(10, |mut stream: PieceStream| {
                let mut head = [0u8; 1];
                stream.read_exact(&mut head).expect("head");
                Err(CommandError::new(
                    "invalid",
                    "not a kind of file the desk takes",
                ))
            })
            .expect("begin");
        // The refusal comes back on a later piece, whichever: the channel
        // holds AHEAD pieces before it closes.
        let mut answer = Ok(());
        for at in 0..AHEAD as u64 + 3 {
            answer = within(incoming.piece(file, at, bytes(b"x"))).await;
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
        let file = incoming
            .begin(10 * MOST_PIECE as u64, whole)
            .expect("begin");
        let e = within(incoming.piece(file, 0, Zeroizing::new(vec![0; MOST_PIECE + 1])))
            .await
            .expect_err("too large");
        assert_eq!(e.fields[0].rule, "evidence_not_whole");
        assert!(incoming.lock().is_empty());
    }
}
