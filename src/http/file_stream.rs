//! Streaming a file (or a range of it) from disk as a response body.
//!
//! Each chunk is read on the blocking pool straight into the buffer that becomes the body's
//! `Bytes`. `tokio::fs::File` with a `ReaderStream` would copy every byte twice in user space
//! (into the file's own buffer, then into the stream's) and hand off to the blocking pool
//! every 64 KiB; over TLS, where the kernel cannot send the file itself, those copies and
//! handoffs were a fifth of the CPU a large download cost.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt as _, stream};

/// Bytes read per handoff to the blocking pool: large enough that the handoff is noise next
/// to the copy and the encryption. A download whose client is slower than the disk holds a
/// few of these at once (the chunk being sent, the one queued behind it, its TLS records),
/// which is why this is not larger: every stalled download costs that much memory.
pub const READ_CHUNK: usize = 128 * 1024;

/// Streams `len` bytes of `file` from `start` (fewer if the file is shorter by then: the body
/// then ends early, and hyper closes the connection rather than send a short response).
/// Several streams may share one open file as long as they are read one after the other (the
/// parts of a multipart range response): each read seeks to its own position first, so every
/// part comes from the file that was opened, even if the path now names another.
pub fn chunks(
    file: Arc<std::fs::File>,
    start: u64,
    len: u64,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::try_unfold((file, start, len), |(file, pos, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = left.min(READ_CHUNK as u64);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut reader = &*file;
            reader.seek(SeekFrom::Start(pos))?;
            let mut chunk = Vec::with_capacity(want as usize);
            reader.take(want).read_to_end(&mut chunk)?;
            Ok::<_, io::Error>((file, chunk))
        })
        .await
        .map_err(io::Error::other)??;
        if chunk.is_empty() {
            // The file shrank while it was being sent.
            return Ok(None);
        }
        let read = chunk.len() as u64;
        Ok(Some((Bytes::from(chunk), (file, pos + read, left - read))))
    })
}

/// Like [`chunks`], opening `path` first (on the blocking pool, when first polled).
pub fn open_chunks(
    path: PathBuf,
    start: u64,
    len: u64,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::once(async move {
        let file = tokio::task::spawn_blocking(move || std::fs::File::open(path))
            .await
            .map_err(io::Error::other)??;
        Ok::<_, io::Error>(chunks(Arc::new(file), start, len))
    })
    .try_flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(s: impl Stream<Item = io::Result<Bytes>>) -> (Vec<u8>, usize) {
        let parts: Vec<Bytes> = s.try_collect().await.unwrap();
        (parts.concat(), parts.len())
    }

    #[tokio::test]
    async fn whole_files_and_ranges_come_out_exactly_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let data: Vec<u8> = (0..READ_CHUNK * 2 + 1000)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();

        let (all, pieces) = collect(open_chunks(path.clone(), 0, u64::MAX)).await;
        assert_eq!(all, data);
        assert_eq!(pieces, 3);

        let start = READ_CHUNK as u64 - 10;
        let (range, pieces) = collect(open_chunks(path.clone(), start, 30)).await;
        assert_eq!(range, &data[start as usize..start as usize + 30]);
        assert_eq!(pieces, 1);

        let (long, _) = collect(open_chunks(path.clone(), 500, READ_CHUNK as u64 + 7)).await;
        assert_eq!(long, &data[500..500 + READ_CHUNK + 7]);

        let (empty, pieces) = collect(open_chunks(path.clone(), 0, 0)).await;
        assert!(empty.is_empty() && pieces == 0);

        // Asking past the end ends with the file.
        let (tail, _) = collect(open_chunks(path, data.len() as u64 - 5, 100)).await;
        assert_eq!(tail, &data[data.len() - 5..]);
    }

    #[tokio::test]
    async fn parts_read_one_after_the_other_come_from_the_file_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = Arc::new(std::fs::File::open(&path).unwrap());
        // The path now names another file; the open one is still the old.
        std::fs::write(dir.path().join("new.bin"), b"abcdefghij").unwrap();
        std::fs::rename(dir.path().join("new.bin"), &path).unwrap();
        let (first, _) = collect(chunks(file.clone(), 6, 3)).await;
        let (second, _) = collect(chunks(file, 1, 2)).await;
        assert_eq!((&first[..], &second[..]), (&b"678"[..], &b"12"[..]));
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error_of_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = std::pin::pin!(open_chunks(dir.path().join("gone"), 0, 10));
        let err = s.try_next().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
