//! The auth matrix of `ifc serve`: every endpoint × {no token, expired token, token signed with
//! another key, `alg: none`, a role too low, API key} gives the documented status: 401 for
//! every bad credential, 403 for a role too low, and for a good credential whatever the
//! endpoint answers (never 401/403). Health endpoints need nothing. Each test runs on the
//! embedded defaults and on PostgreSQL + S3 (the backends matrix).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ifc_integration_tests::backends::Backends;
use ifc_integration_tests::serve::{Api, ServeProcess};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

/// (method, path, the lowest role allowed, a body).
fn endpoints() -> Vec<(&'static str, &'static str, &'static str, Option<Value>)> {
    let camera = json!({"name": "c", "kind": "rtsp", "url": "rtsp://192.0.2.1/x"});
    let doc = json!({"document": {"version": 1, "nodes": []}});
    vec![
        ("GET", "/api/v1/auth/me", "viewer", None),
        ("GET", "/api/v1/users", "admin", None),
        ("POST", "/api/v1/users", "admin", Some(json!({"username": "u", "password": "short", "role": "viewer"}))),
        ("DELETE", "/api/v1/users/nope", "admin", None),
        ("GET", "/api/v1/api-keys", "admin", None),
        ("POST", "/api/v1/api-keys", "admin", Some(json!({"name": "", "role": "viewer"}))),
        ("DELETE", "/api/v1/api-keys/nope", "admin", None),
        ("GET", "/api/v1/cameras", "viewer", None),
        ("POST", "/api/v1/cameras", "operator", Some(camera.clone())),
        ("GET", "/api/v1/cameras/nope", "viewer", None),
        ("PUT", "/api/v1/cameras/nope", "operator", Some(camera)),
        ("DELETE", "/api/v1/cameras/nope", "operator", None),
        ("GET", "/api/v1/pipelines", "viewer", None),
        ("POST", "/api/v1/pipelines", "operator", Some(json!({"name": "p", "document": {"version": 1, "nodes": []}}))),
        ("POST", "/api/v1/pipelines/validate", "viewer", Some(doc.clone())),
        ("GET", "/api/v1/pipelines/nope", "viewer", None),
        ("GET", "/api/v1/pipelines/nope/versions", "viewer", None),
        ("POST", "/api/v1/pipelines/nope/versions", "operator", Some(doc)),
        ("GET", "/api/v1/pipelines/nope/versions/1", "viewer", None),
        ("GET", "/api/v1/inspections", "viewer", None),
        ("POST", "/api/v1/inspections", "operator", Some(json!({"camera_id": "nope", "pipeline_id": "nope"}))),
        ("GET", "/api/v1/inspections/nope", "viewer", None),
        ("POST", "/api/v1/inspections/nope/start", "operator", Some(json!({}))),
        ("POST", "/api/v1/inspections/nope/stop", "operator", Some(json!({}))),
        ("PUT", "/api/v1/inspections/nope/item", "operator", Some(json!({"lot": "L"}))),
        ("GET", "/api/v1/results", "viewer", None),
        ("GET", "/api/v1/results/1", "viewer", None),
        ("GET", "/api/v1/results/1/snapshot", "viewer", None),
        ("GET", "/api/v1/statistics", "viewer", None),
        ("GET", "/api/v1/events", "viewer", None),
    ]
}

fn rank(role: &str) -> u8 {
    match role {
        "viewer" => 0,
        "operator" => 1,
        _ => 2,
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn token(key: &[u8], sub: &str, role: &str, iat: u64, exp: u64) -> String {
    let claims = json!({"sub": sub, "role": role, "iss": "ifc", "aud": "ifc-api", "iat": iat, "exp": exp});
    encode(&Header::default(), &claims, &EncodingKey::from_secret(key)).expect("sign")
}

#[test]
fn every_endpoint_refuses_bad_credentials_and_low_roles() {
    every_endpoint(Backends::EMBEDDED);
}

#[test]
fn every_endpoint_refuses_bad_credentials_and_low_roles_on_postgres_and_s3() {
    every_endpoint(Backends::SERVERS);
}

fn every_endpoint(backends: Backends) {
    let servers = backends.start();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start_on(&servers, &dir.path().join("data"), dir.path(), &[]);
    let admin = server.admin();
    let key = std::fs::read(dir.path().join("data/jwt.key")).expect("the server's key");
    let admin_id = admin.get("/api/v1/auth/me").1["subject"].as_str().expect("subject").to_owned();

    let mut api_keys = std::collections::BTreeMap::new();
    for role in ["viewer", "operator", "admin"] {
        let (status, k) = admin.post("/api/v1/api-keys", &json!({"name": format!("{role}-key"), "role": role}));
        assert_eq!(status, 201, "{k}");
        api_keys.insert(role, k["secret"].as_str().expect("secret").to_owned());
    }
    let payload = token(&key, &admin_id, "admin", now(), now() + 600);
    let body = payload.split('.').nth(1).expect("payload");
    let bad: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("expired", Some(token(&key, &admin_id, "admin", now() - 7200, now() - 3600))),
        ("another key", Some(token(&[9u8; 32], &admin_id, "admin", now(), now() + 600))),
        ("alg none", Some(format!("{}.{body}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)))),
        ("garbage", Some("not-a-token".into())),
        ("revoked-looking API key", Some("ifck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into())),
    ];
    let client = server.client();
    for (method, path, least, body) in endpoints() {
        for (what, credential) in &bad {
            let api = credential.as_ref().map_or_else(|| client.clone(), |t| client.with_token(t));
            let (status, reply) = api.request(method, path, body.as_ref());
            assert_eq!(status, 401, "{method} {path} with {what}: {reply}");
            assert_eq!(reply["error"]["code"], "unauthorized", "{method} {path} with {what}");
        }
        for role in ["viewer", "operator", "admin"] {
            let as_token = client.with_token(&token(&key, &admin_id, role, now(), now() + 600));
            let as_key = client.with_token(&api_keys[role]);
            for (how, api) in [("token", &as_token), ("API key", &as_key)] {
                let (status, reply) = api.request(method, path, body.as_ref());
                if rank(role) < rank(least) {
                    assert_eq!(status, 403, "{method} {path} as {role} ({how}): {reply}");
                } else {
                    assert!(status != 401 && status != 403, "{method} {path} as {role} ({how}): {status} {reply}");
                    assert!(status < 500, "{method} {path} as {role} ({how}): {status} {reply}");
                }
            }
        }
    }
    // Health and the contract need no token.
    let open = server.client();
    assert_eq!(open.get("/livez").0, 200);
    assert_eq!(open.get("/readyz").0, 200);
    assert_eq!(open.get("/metrics").0, 200);
    let (status, doc) = open.get("/api/v1/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true), "OpenAPI 3.1");
    // A revoked key stops working at once.
    let keys = admin.get("/api/v1/api-keys").1;
    let viewer_key = keys.as_array().expect("keys").iter().find(|k| k["name"] == "viewer-key").expect("viewer key");
    let id = viewer_key["id"].as_str().expect("id");
    assert_eq!(admin.request("DELETE", &format!("/api/v1/api-keys/{id}"), None).0, 204);
    assert_eq!(client.with_token(&api_keys["viewer"]).get("/api/v1/cameras").0, 401);
}

#[test]
fn login_refresh_and_bodies_over_the_limit() {
    login_refresh_and_limits(Backends::EMBEDDED);
}

#[test]
fn login_refresh_and_bodies_over_the_limit_on_postgres_and_s3() {
    login_refresh_and_limits(Backends::SERVERS);
}

fn login_refresh_and_limits(backends: Backends) {
    let servers = backends.start();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start_on(&servers, &dir.path().join("data"), dir.path(), &[]);
    let client: Api = server.client();
    let (status, reply) = client.post("/api/v1/auth/login", &json!({"username": "admin", "password": "wrong"}));
    assert_eq!((status, reply["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, tokens) = client.post(
        "/api/v1/auth/login",
        &json!({"username": "admin", "password": ifc_integration_tests::serve::ADMIN_PASSWORD}),
    );
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let (status, again) = client.post("/api/v1/auth/refresh", &json!({"refresh_token": refresh}));
    assert_eq!(status, 200, "{again}");
    assert_eq!(client.with_token(again["access_token"].as_str().expect("token")).get("/api/v1/auth/me").0, 200);
    // A refresh token is good once.
    assert_eq!(client.post("/api/v1/auth/refresh", &json!({"refresh_token": refresh})).0, 401);
    // Over the 1 MiB default body limit: 413, with the JSON error body.
    let admin = server.admin();
    let huge = json!({"name": "x".repeat(2 << 20), "kind": "rtsp", "url": "rtsp://192.0.2.1/x"});
    let (status, reply) = admin.post("/api/v1/cameras", &huge);
    assert_eq!(status, 413, "{reply}");
    // Camera URLs: no cloud metadata service, no link-local; passwords never come back.
    for url in ["rtsp://169.254.169.254/x", "rtsp://[fe80::1]/x"] {
        let (status, reply) = admin.post("/api/v1/cameras", &json!({"name": "bad", "kind": "rtsp", "url": url}));
        assert_eq!(status, 422, "{url}: {reply}");
    }
    let (status, camera) = admin.post(
        "/api/v1/cameras",
        &json!({"name": "cam", "kind": "rtsp", "url": "rtsp://operator:s3cret-pw@192.0.2.7:554/live"}),
    );
    assert_eq!(status, 201, "{camera}");
    let listed = admin.get("/api/v1/cameras").1.to_string();
    assert!(!listed.contains("s3cret-pw"), "a password came back: {listed}");
    assert_eq!(camera["url"], "rtsp://192.0.2.7:554/live");
    assert_eq!(camera["has_password"], true);
}
