//! Large objects go to S3 in parts: CreateMultipartUpload, one UploadPart per
//! `part_bytes` (each read from the file when it is sent, so a segment is never held whole in
//! memory, and a retried part is read again), CompleteMultipartUpload. Any failure aborts the
//! upload (AbortMultipartUpload), so the bucket keeps no orphan parts that cost storage; the
//! caller (the spool) retries the whole object later.

use std::path::Path;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;

use super::s3::S3Store;
use super::ObjectError;

/// S3 allows at most this many parts per object.
const MAX_PARTS: u64 = 10_000;

/// Where an object's bytes come from.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    Bytes(&'a Bytes),
    File(&'a Path),
}

impl Source<'_> {
    /// `len` bytes from `offset`, as a body the SDK can send (and re-send on a retry).
    async fn body(&self, key: &str, offset: u64, len: u64) -> Result<ByteStream, ObjectError> {
        match self {
            Self::Bytes(b) => {
                let (from, to) = (usize::try_from(offset), usize::try_from(offset.saturating_add(len)));
                match (from, to) {
                    (Ok(from), Ok(to)) if to <= b.len() => Ok(ByteStream::from(b.slice(from..to))),
                    _ => Err(S3Store::remote_message(key, "part outside the object".into())),
                }
            }
            Self::File(path) => ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(len))
                .build()
                .await
                .map_err(|e| ObjectError::Io { store: "s3", key: key.to_owned(), source: std::io::Error::other(e) }),
        }
    }
}

/// The part size for an object of `size` bytes: `part_bytes`, larger where S3's part count
/// limit needs it.
pub(super) fn part_size(size: u64, part_bytes: u64) -> u64 {
    part_bytes.max(size.div_ceil(MAX_PARTS)).max(1)
}

/// Uploads `size` bytes of `source` under `key` in parts; aborts the upload on any failure.
pub(super) async fn upload(
    store: &S3Store,
    key: &str,
    source: Source<'_>,
    size: u64,
    content_type: &str,
) -> Result<(), ObjectError> {
    let created = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(key)
        .content_type(content_type)
        .send()
        .await
        .map_err(|e| S3Store::remote(key, e))?;
    let Some(upload_id) = created.upload_id else {
        return Err(S3Store::remote_message(key, "CreateMultipartUpload answered without an upload id".into()));
    };
    let result = upload_parts(store, key, source, size, &upload_id).await;
    if result.is_err() {
        // Best effort: a server that is down cannot be told; S3 lifecycle rules
        // (AbortIncompleteMultipartUpload) are the backstop for that case.
        if let Err(e) =
            store.client.abort_multipart_upload().bucket(&store.bucket).key(key).upload_id(&upload_id).send().await
        {
            tracing::warn!(key = %key, error = %S3Store::remote(key, e), "s3: multipart upload not aborted");
        }
    }
    result
}

async fn upload_parts(
    store: &S3Store,
    key: &str,
    source: Source<'_>,
    size: u64,
    upload_id: &str,
) -> Result<(), ObjectError> {
    let part_bytes = part_size(size, store.multipart_part_bytes);
    let mut parts = Vec::new();
    let mut offset = 0;
    let mut number = 1;
    while offset < size {
        let len = part_bytes.min(size - offset);
        let done = store
            .client
            .upload_part()
            .bucket(&store.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(i64::try_from(len).unwrap_or(i64::MAX))
            .body(source.body(key, offset, len).await?)
            .send()
            .await
            .map_err(|e| S3Store::remote(key, e))?;
        parts.push(CompletedPart::builder().part_number(number).set_e_tag(done.e_tag).build());
        offset += len;
        number += 1;
    }
    let completed = store
        .client
        .complete_multipart_upload()
        .bucket(&store.bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await;
    match completed {
        Ok(_) => Ok(()),
        Err(e) if completed_under_another_root(&e) => Ok(()),
        Err(e) => Err(S3Store::remote(key, e)),
    }
}

/// A 200 whose body is a completion under the root `CompleteMultipartUploadResponse` (moto's
/// spelling; S3's is `...Result`), which the SDK cannot parse: the object is complete. A 200
/// carrying `<Error>` (S3 reports late failures so) is not.
fn completed_under_another_root<E>(e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    let Some(raw) = e.raw_response() else { return false };
    let body = raw.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
    raw.status().as_u16() == 200
        && body.contains("<CompleteMultipartUploadResponse")
        && body.contains("<ETag>")
        && !body.contains("<Error>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_only_where_the_part_count_limit_needs_it() {
        assert_eq!(part_size(20 << 20, 8 << 20), 8 << 20);
        assert_eq!(part_size(0, 8 << 20), 8 << 20);
        let huge = 200_000u64 << 20;
        assert!(huge.div_ceil(part_size(huge, 8 << 20)) <= MAX_PARTS);
    }
}
