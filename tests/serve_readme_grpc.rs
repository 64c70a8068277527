//! The README's grpcurl examples against a running `ifc serve`: every `ifc.v1.<Service>/<Method>`
//! they call exists, and every field and enum value their `-d` JSON names belongs to the
//! method's request message. The descriptors come from the server's reflection, which is what
//! grpcurl reads (grpcurl itself is a Go program not packaged for Debian).

use std::collections::HashMap;

use ifc_integration_tests::demo::repo;
use ifc_integration_tests::grpc::Grpc;
use ifc_integration_tests::serve::ServeProcess;
use prost::Message;
use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FileDescriptorProto};
use serde_json::Value;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

/// One grpcurl command of the README: the method and the `-d` body, if any.
#[derive(Debug)]
struct Example {
    method: String,
    body: Option<Value>,
    line: String,
}

/// The grpcurl commands in the README's shell blocks (continuation lines joined), with shell
/// variables replaced by placeholders and `\"` unescaped.
fn readme_examples() -> Vec<Example> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in readme.lines() {
        let line = line.split("  #").next().unwrap_or(line).trim_end();
        if pending.is_empty() && !line.trim_start().starts_with("grpcurl ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(line);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    commands
        .into_iter()
        .filter_map(|line| {
            let method = line.split_whitespace().find(|w| w.starts_with("ifc.v1."))?.to_owned();
            let body = line.split_once("-d ").map(|(_, rest)| {
                let text = shell_quoted(rest).unwrap_or_else(|| panic!("README: `{line}`: an unclosed -d body"));
                let text = text.replace("$CAM", "camera-id").replace("$TOKEN", "token");
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("README: `{line}`: the body is not JSON: {e}"))
            });
            Some(Example { method, body, line })
        })
        .collect()
}

/// The shell word at the start of `s`, in single quotes (taken as is) or double quotes (`\"`
/// unescaped); `None` when it is not closed.
fn shell_quoted(s: &str) -> Option<String> {
    let mut chars = s.chars();
    let quote = chars.next()?;
    let mut word = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote == '"' => word.push(chars.next()?),
            c if c == quote => return Some(word),
            c => word.push(c),
        }
    }
    None
}

/// Every file the server's reflection knows through `symbol`, by name.
fn files_for(grpc: &Grpc, symbol: &str) -> Vec<FileDescriptorProto> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(symbol.to_owned())),
    };
    grpc.run(async {
        let mut replies = ServerReflectionClient::new(grpc.channel.clone())
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection answers")
            .into_inner();
        match replies.message().await.expect("a reply").and_then(|r| r.message_response) {
            Some(MessageResponse::FileDescriptorResponse(f)) => f
                .file_descriptor_proto
                .iter()
                .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("a file descriptor"))
                .collect(),
            other => panic!("reflection does not know {symbol}: {other:?}"),
        }
    })
}

/// Checks `body` against `message`: each key a field (proto or JSON name), each string given
/// to an enum field one of its values, nested messages recursively.
fn check_fields(body: &Value, message: &DescriptorProto, types: &HashMap<String, &DescriptorProto>, enums: &HashMap<String, Vec<String>>, line: &str) {
    let Value::Object(map) = body else { panic!("README: `{line}`: a message body must be a JSON object") };
    for (key, value) in map {
        let field = message
            .field
            .iter()
            .find(|f| f.name() == key || f.json_name() == key)
            .unwrap_or_else(|| panic!("README: `{line}`: {} has no field {key:?}", message.name()));
        let type_name = field.type_name().trim_start_matches('.');
        match (field.r#type(), value) {
            (Type::Enum, Value::String(name)) => {
                let values = &enums[type_name];
                assert!(values.contains(name), "README: `{line}`: {name:?} is not a {type_name} ({values:?})");
            }
            (Type::Message, Value::Object(_)) => check_fields(value, types[type_name], types, enums, line),
            _ => {}
        }
    }
}

#[test]
fn the_readme_grpcurl_examples_match_the_served_descriptors() {
    let examples = readme_examples();
    assert!(examples.len() >= 4, "the README's grpcurl examples: {examples:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let grpc = Grpc::connect(server.addr).expect("gRPC");
    for example in &examples {
        let (service, method) = example.method.split_once('/').expect("Service/Method");
        let files = files_for(&grpc, service);
        let mut types = HashMap::new();
        let mut enums = HashMap::new();
        for file in &files {
            let package = file.package();
            for m in &file.message_type {
                types.insert(format!("{package}.{}", m.name()), m);
            }
            for e in &file.enum_type {
                enums.insert(format!("{package}.{}", e.name()), e.value.iter().map(|v| v.name().to_owned()).collect::<Vec<_>>());
            }
        }
        let short = service.rsplit('.').next().expect("a name");
        let rpc = files
            .iter()
            .flat_map(|f| &f.service)
            .find(|s| s.name() == short)
            .and_then(|s| s.method.iter().find(|m| m.name() == method))
            .unwrap_or_else(|| panic!("README: `{}`: the server has no {}", example.line, example.method));
        if let Some(body) = &example.body {
            let input = types[rpc.input_type().trim_start_matches('.')];
            check_fields(body, input, &types, &enums, &example.line);
        }
    }
}
