//! S3-compatible storage through `aws-sdk-s3`: one bucket, keys as made by the server.
//!
//! Timeouts and retries are short on purpose: a put that cannot reach the server fails within
//! seconds and the object goes to the spool ([`super::SpoolingStore`]), instead of holding the
//! inspection's writer for the SDK's default minutes.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use bytes::Bytes;

use super::s3_multipart::{self, Source};
use super::{check_key, ObjectError, ObjectFuture, ObjectStore};
use crate::config::S3Config;

pub struct S3Store {
    pub(super) client: aws_sdk_s3::Client,
    pub(super) bucket: String,
    /// Objects larger than this go up in parts ([`super::s3_multipart`]).
    multipart_threshold_bytes: u64,
    pub(super) multipart_part_bytes: u64,
}

impl S3Store {
    /// A client for `config`; credentials from the config, else from `env`'s standard
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`. Connects lazily.
    pub fn new(config: &S3Config, env: impl Fn(&str) -> Option<String>) -> Result<Self, ObjectError> {
        if config.bucket.is_empty() {
            return Err(ObjectError::Config("s3: `bucket` is empty".into()));
        }
        let access_key = config.access_key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID"));
        let secret_key = config.secret_access_key.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            return Err(ObjectError::Config(
                "s3: no credentials (set access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                    .into(),
            ));
        };
        let session_token = if config.access_key_id.is_some() { None } else { env("AWS_SESSION_TOKEN") };
        let credentials = Credentials::new(access_key, secret_key, session_token, None, "ifc-serve-config");
        // rustls on ring (already in the build for the JWT code) instead of the SDK's default
        // aws-lc; the same client serves plain-HTTP endpoints.
        let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .http_client(http)
            .force_path_style(config.path_style)
            // Checksums only where S3 requires them: the SDK's default (CRC32 on every PUT, in
            // aws-chunked bodies with a trailing checksum) is refused by several S3-compatible
            // servers; a plain PUT of the whole object is what they all accept.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .operation_timeout(Duration::from_secs(45))
                    .build(),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(Self {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            multipart_threshold_bytes: config.multipart_threshold_bytes,
            // Not raised to S3's 5 MiB floor here: `ServeConfig::validate` refuses less, and a
            // server that takes smaller parts (or a test of one that refuses them) may use them.
            multipart_part_bytes: config.multipart_part_bytes.max(1),
        })
    }

    pub(super) fn remote(key: &str, e: impl std::error::Error) -> ObjectError {
        Self::remote_message(key, DisplayErrorContext(e).to_string())
    }

    pub(super) fn remote_message(key: &str, message: String) -> ObjectError {
        ObjectError::Remote { store: "s3", key: key.to_owned(), message }
    }

    /// One PUT of the whole object, or a multipart upload above the threshold.
    async fn put_from(&self, key: &str, source: Source<'_>, size: u64, content_type: &str) -> Result<(), ObjectError> {
        check_key(key)?;
        if size > self.multipart_threshold_bytes {
            return s3_multipart::upload(self, key, source, size, content_type).await;
        }
        let body = match source {
            Source::Bytes(b) => ByteStream::from(b.clone()),
            Source::File(path) => ByteStream::read_from()
                .path(path)
                .length(Length::Exact(size))
                .build()
                .await
                .map_err(|e| ObjectError::Io { store: "s3", key: key.to_owned(), source: std::io::Error::other(e) })?,
        };
        // A PUT replaces an object whole: S3 never shows a partial one.
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| Self::remote(key, e))?;
        Ok(())
    }
}

impl ObjectStore for S3Store {
    fn name(&self) -> &'static str {
        "s3"
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes, content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move { self.put_from(key, Source::Bytes(&bytes), bytes.len() as u64, content_type).await })
    }

    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path, content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            let size = tokio::fs::metadata(path)
                .await
                .map_err(|source| ObjectError::Io { store: "s3", key: key.to_owned(), source })?
                .len();
            self.put_from(key, Source::File(path), size, content_type).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            check_key(key)?;
            // S3 answers 204 for a key that is not there: deleting is idempotent.
            self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(|e| Self::remote(key, e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, Bytes> {
        Box::pin(async move {
            check_key(key)?;
            let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Err(ObjectError::NotFound { key: key.to_owned() })
                }
                Err(e) => return Err(Self::remote(key, e)),
            };
            let body = object.body.collect().await.map_err(|e| Self::remote(key, e))?;
            Ok(body.into_bytes())
        })
    }

    fn ping(&self) -> ObjectFuture<'_, ()> {
        Box::pin(async move {
            self.client.head_bucket().bucket(&self.bucket).send().await.map_err(|e| Self::remote(&self.bucket, e))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            bucket: "b".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            path_style: true,
            access_key_id: None,
            secret_access_key: None,
            multipart_threshold_bytes: 16 << 20,
            multipart_part_bytes: 8 << 20,
        }
    }

    #[test]
    fn credentials_come_from_the_config_or_the_standard_variables() {
        let err = S3Store::new(&config(), |_| None).err().expect("no credentials");
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
        let env = |k: &str| matches!(k, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY").then(|| "x".to_owned());
        assert!(S3Store::new(&config(), env).is_ok());
        let inline = S3Config { access_key_id: Some("a".into()), secret_access_key: Some("s".into()), ..config() };
        assert!(S3Store::new(&inline, |_| None).is_ok());
        assert!(S3Store::new(&S3Config { bucket: String::new(), ..inline }, |_| None).is_err());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_error_not_a_hang() {
        let inline = S3Config { access_key_id: Some("a".into()), secret_access_key: Some("s".into()), ..config() };
        let store = S3Store::new(&inline, |_| None).expect("client");
        let started = std::time::Instant::now();
        let err = store.put("snapshots/c/e.jpg", Bytes::from_static(b"x"), "image/jpeg").await.expect_err("port 9 is closed");
        assert!(matches!(err, ObjectError::Remote { .. }), "{err}");
        assert!(store.ping().await.is_err());
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    }
}
