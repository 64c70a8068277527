//! The auth matrix of `ifc serve`: every endpoint × {no token, expired token, token signed with
//! another key, `alg: none`, a role too low, API key} gives the documented status: 401 for
//! every bad credential, 403 for a role too low, and for a good credential whatever the
//! endpoint answers (never 401/403). Health endpoints need nothing. The gRPC API gives the same
//! answers as status codes (UNAUTHENTICATED, PERMISSION_DENIED, …). The REST matrix runs on the
//! embedded defaults and on PostgreSQL + S3 + Kafka (the backends matrix).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ifc_integration_tests::backends::Backends;
use ifc_integration_tests::grpc::{pb, Grpc};
use ifc_integration_tests::serve::{Api, ServeProcess, ADMIN_PASSWORD};
use tonic::Code;
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
        ("GET", "/api/v1/products", "viewer", None),
        ("POST", "/api/v1/products", "operator", Some(json!({"code": "", "name": "n"}))),
        ("GET", "/api/v1/products/nope", "viewer", None),
        ("DELETE", "/api/v1/products/nope", "operator", None),
        ("GET", "/api/v1/lots", "viewer", None),
        ("GET", "/api/v1/results", "viewer", None),
        ("GET", "/api/v1/results/1", "viewer", None),
        ("GET", "/api/v1/results/1/snapshot", "viewer", None),
        ("GET", "/api/v1/statistics", "viewer", None),
        ("GET", "/api/v1/events", "viewer", None),
        ("GET", "/api/v1/cameras/nope/recordings?from_ms=0&to_ms=1", "viewer", None),
        ("GET", "/api/v1/cameras/nope/export?from_ms=0&to_ms=1", "viewer", None),
        ("POST", "/api/v1/cameras/nope/export-links", "viewer", Some(json!({"from_ms": 0, "to_ms": 1}))),
        ("GET", "/api/v1/cameras/nope/playlist.m3u8?from_ms=0&to_ms=1", "viewer", None),
        ("GET", "/api/v1/cameras/nope/protections", "viewer", None),
        ("POST", "/api/v1/cameras/nope/protections", "operator", Some(json!({"from_ms": 0, "to_ms": 1, "reason": "r"}))),
        ("DELETE", "/api/v1/cameras/nope/protections/nope", "operator", None),
        ("GET", "/api/v1/cameras/nope/recording", "viewer", None),
        ("PUT", "/api/v1/cameras/nope/recording", "operator", Some(json!({"segment_s": 10}))),
        ("DELETE", "/api/v1/cameras/nope/recording", "operator", None),
        ("GET", "/api/v1/recordings/1/file", "viewer", None),
        ("GET", "/api/v1/cameras/nope/live/index.m3u8", "viewer", None),
        ("GET", "/api/v1/cameras/nope/live/history.m3u8", "viewer", None),
        ("GET", "/api/v1/cameras/nope/live.ws", "viewer", None),
        ("GET", "/api/v1/cameras/nope/overlays", "viewer", None),
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
fn every_endpoint_refuses_bad_credentials_and_low_roles_on_postgres_s3_and_kafka() {
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
    // The matrix above covers every operation the document lists (but the three that take no
    // token: login, refresh and the document itself).
    let listed = endpoints();
    let covers = |method: &str, template: &str| {
        listed.iter().any(|(m, path, _, _)| {
            let path = path.split('?').next().unwrap_or_default();
            let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
            m.eq_ignore_ascii_case(method) && t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
        })
    };
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            // The signed download links (and the live view's files, whose URIs a playlist signs)
            // need no token: their signature is the credential (checked below).
            let open_by_design = [
                "/api/v1/auth/login",
                "/api/v1/auth/refresh",
                "/api/v1/openapi.json",
                "/api/v1/signed/export",
                "/api/v1/signed/recordings/{id}/{part}",
                "/api/v1/cameras/{id}/live/{file}",
            ]
            .contains(&template.as_str());
            assert!(open_by_design || covers(method, template), "{method} {template} is not in the auth matrix");
        }
    }
    // A signed link with a signature that is not the server's is refused.
    let forged = "/api/v1/signed/export?camera_id=nope&from_ms=0&to_ms=1&expires_ms=99999999999999&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(open.get(forged).0, 403);
    assert_eq!(open.get("/api/v1/signed/recordings/1/init.mp4?expires_ms=99999999999999&sig=AAAA").0, 403);
    assert_eq!(open.get("/api/v1/cameras/nope/live/init-1.mp4?expires_ms=99999999999999&sig=AAAA").0, 403);
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
fn login_refresh_and_bodies_over_the_limit_on_postgres_s3_and_kafka() {
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
        &json!({"username": "admin", "password": ADMIN_PASSWORD}),
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
    let (status, reply) = post_a_huge_body(server.addr, admin.token.as_deref().expect("token"));
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

/// The status code of a failed call; `None` when it succeeded.
fn code<T>(reply: Result<tonic::Response<T>, tonic::Status>) -> Option<Code> {
    reply.err().map(|s| s.code())
}

#[test]
fn grpc_gives_the_same_answers_as_status_codes() {
    use pb::auth_client::AuthClient;
    use pb::cameras_client::CamerasClient;
    use pb::events_client::EventsClient;
    use pb::inspections_client::InspectionsClient;
    use pb::pipelines_client::PipelinesClient;
    use pb::results_client::ResultsClient;
    use pb::users_client::UsersClient;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let grpc = Grpc::connect(server.addr).expect("gRPC on the REST port");
    let login = |username: &str, password: &str| {
        let request = pb::LoginRequest { username: username.into(), password: password.into() };
        grpc.run(AuthClient::new(grpc.channel.clone()).login(request)).map(|r| r.into_inner().access_token).map_err(|s| s.code())
    };
    assert_eq!(login("admin", "wrong").err(), Some(Code::Unauthenticated));
    let admin = grpc.with_token(&login("admin", ADMIN_PASSWORD).expect("admin logs in"));

    // No token, a garbage token, `alg: none`: UNAUTHENTICATED, for unary calls and the stream.
    let list = |g: &Grpc| code(g.run(CamerasClient::new(g.channel.clone()).list_cameras(g.request(pb::ListCamerasRequest {}))));
    let alg_none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), URL_SAFE_NO_PAD.encode(b"{}"));
    for bad in [&grpc, &grpc.with_token("not-a-token"), &grpc.with_token(&alg_none)] {
        assert_eq!(list(bad), Some(Code::Unauthenticated));
        let watch = bad.run(EventsClient::new(bad.channel.clone()).watch(bad.request(pb::WatchRequest::default())));
        assert_eq!(code(watch), Some(Code::Unauthenticated));
    }
    assert_eq!(list(&admin), None);

    // A viewer (made over gRPC) reads but cannot start an inspection or make keys.
    let user = pb::CreateUserRequest { username: "viewer".into(), password: "viewer-password-1".into(), role: pb::Role::Viewer as i32 };
    admin.run(UsersClient::new(admin.channel.clone()).create_user(admin.request(user))).expect("admin makes a viewer");
    let viewer = grpc.with_token(&login("viewer", "viewer-password-1").expect("viewer logs in"));
    assert_eq!(list(&viewer), None);
    let start = pb::CreateInspectionRequest { camera_id: "nope".into(), pipeline_id: "nope".into(), ..Default::default() };
    let denied = viewer.run(InspectionsClient::new(viewer.channel.clone()).create_inspection(viewer.request(start.clone())));
    assert_eq!(code(denied), Some(Code::PermissionDenied));
    let key = pb::CreateApiKeyRequest { name: "k".into(), role: pb::Role::Viewer as i32 };
    let denied = viewer.run(UsersClient::new(viewer.channel.clone()).create_api_key(viewer.request(key.clone())));
    assert_eq!(code(denied), Some(Code::PermissionDenied));

    // An API key works as a bearer token, with its role.
    let made = admin.run(UsersClient::new(admin.channel.clone()).create_api_key(admin.request(key))).expect("key").into_inner();
    let device = grpc.with_token(&made.secret);
    let me = device.run(AuthClient::new(device.channel.clone()).me(device.request(pb::MeRequest {}))).expect("me").into_inner();
    assert_eq!((me.role, me.credential.as_str()), (pb::Role::Viewer as i32, "api_key"));
    assert_eq!(list(&device), None);

    // Typed errors: NOT_FOUND, INVALID_ARGUMENT (naming the field).
    let missing = admin.run(CamerasClient::new(admin.channel.clone()).get_camera(admin.request(pb::GetCameraRequest { id: "nope".into() })));
    assert_eq!(code(missing), Some(Code::NotFound));
    let missing = admin.run(InspectionsClient::new(admin.channel.clone()).create_inspection(admin.request(start)));
    assert_eq!(code(missing), Some(Code::NotFound));
    let bad_limit = pb::ListResultsRequest { limit: Some(0), ..Default::default() };
    let invalid = admin.run(ResultsClient::new(admin.channel.clone()).list_results(admin.request(bad_limit))).expect_err("limit 0");
    assert_eq!((invalid.code(), invalid.message()), (Code::InvalidArgument, "limit: must be 1–1000"));
    let no_kind = pb::CreateCameraRequest {
        camera: Some(pb::CameraSpec { name: "c".into(), url: "rtsp://192.0.2.1/x".into(), ..Default::default() }),
    };
    let invalid = admin.run(CamerasClient::new(admin.channel.clone()).create_camera(admin.request(no_kind)));
    assert_eq!(code(invalid), Some(Code::InvalidArgument));
    let not_json = pb::CreatePipelineRequest { name: "p".into(), document_json: "{".into() };
    let invalid = admin.run(PipelinesClient::new(admin.channel.clone()).create_pipeline(admin.request(not_json)));
    assert_eq!(code(invalid), Some(Code::InvalidArgument));
    let unknown = pb::WatchRequest { after_event_id: Some("nope".into()), topics: vec![] };
    let missing = admin.run(EventsClient::new(admin.channel.clone()).watch(admin.request(unknown)));
    assert_eq!(code(missing), Some(Code::NotFound));

    // Over the 1 MiB body limit: refused before decoding (REST's 413).
    let huge = pb::CreateCameraRequest {
        camera: Some(pb::CameraSpec { name: "x".repeat(2 << 20), kind: pb::CameraKind::Rtsp as i32, ..Default::default() }),
    };
    let too_large = admin.run(CamerasClient::new(admin.channel.clone()).create_camera(admin.request(huge)));
    assert_eq!(code(too_large), Some(Code::OutOfRange));

    // Reflection (the contract, like /api/v1/openapi.json: no token) lists every service.
    let list_services = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
    let services = grpc.run(async {
        let mut replies = ServerReflectionClient::new(grpc.channel.clone())
            .server_reflection_info(tokio_stream::iter([list_services]))
            .await
            .expect("reflection answers")
            .into_inner();
        match replies.message().await.expect("a reply").and_then(|r| r.message_response) {
            Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect::<Vec<_>>(),
            other => panic!("not a service list: {other:?}"),
        }
    });
    for name in ["Auth", "Users", "Cameras", "Pipelines", "Inspections", "Products", "Results", "Recordings", "Events"] {
        assert!(services.contains(&format!("ifc.v1.{name}")), "reflection lists ifc.v1.{name}: {services:?}");
    }

    // gRPC's routes leave REST's alone: an unknown REST path is still a plain 404.
    assert_eq!(server.client().get("/api/v1/no-such-thing").0, 404);
}

/// A 2 MiB camera POST. The server answers 413 as soon as the body passes the limit and closes
/// the connection, which can reach the client while it is still writing the body: then the
/// client sees a broken pipe instead of the status (a race every HTTP client has with an early
/// answer). Tried until a status comes back, at most 5 times.
fn post_a_huge_body(addr: std::net::SocketAddr, token: &str) -> (u16, Value) {
    let huge = json!({"name": "x".repeat(2 << 20), "kind": "rtsp", "url": "rtsp://192.0.2.1/x"});
    let mut errors = Vec::new();
    for _ in 0..5 {
        let result = ureq::post(&format!("http://{addr}/api/v1/cameras"))
            .set("Authorization", &format!("Bearer {token}"))
            .send_json(huge.clone());
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let status = response.status();
        return (status, serde_json::from_str(&response.into_string().unwrap_or_default()).unwrap_or(Value::Null));
    }
    panic!("no status in 5 tries: {errors:?}");
}
