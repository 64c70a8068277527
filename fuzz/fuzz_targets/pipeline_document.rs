//! The pipeline document (YAML or JSON, checked against the schema) and the labels file, on
//! arbitrary text. Invariants: a document that reads writes back (JSON and YAML) to one that
//! reads as equal and validates the same; a labels file's names are non-empty and looked up
//! by their own id.
#![no_main]

use ifc::pipeline::PipelineDocument;
use ifc::postprocess::parse_labels;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let text = String::from_utf8_lossy(data);
    if first & 1 == 0 {
        let parsed = if first & 2 == 0 {
            PipelineDocument::from_yaml_str(&text)
        } else {
            PipelineDocument::from_json_str(&text)
        };
        let Ok(doc) = parsed else { return };
        let json = doc.to_json_string().expect("a document that read writes as JSON");
        let from_json = PipelineDocument::from_json_str(&json).expect("own JSON reads");
        assert_eq!(from_json, doc);
        let yaml = doc.to_yaml_string().expect("writes as YAML");
        let from_yaml = PipelineDocument::from_yaml_str(&yaml).expect("own YAML reads");
        assert_eq!(from_yaml, doc);
        assert_eq!(from_json.validate().is_ok(), doc.validate().is_ok());
    } else if let Ok(labels) = parse_labels(&text) {
        for (id, name) in labels.names().iter().enumerate() {
            assert!(!name.is_empty());
            assert_eq!(labels.name(id), Some(name.as_str()));
            assert!(labels.id_of(name).is_some_and(|first| first <= id));
        }
    }
});
