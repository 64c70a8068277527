//! The files `ifc run` writes: the sinks a document's sink nodes name, opened on disk.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ifc::pipeline::{PipelineDocument, SinkNode};
use ifc::runner::{encode_jpeg, JsonlSink, ResultSink, RunPlan, SinkError, SnapshotSink, SnapshotWriter};
use ifc_service::run_store::{ResultStore, RunInfo, SqliteSink};

/// Writes each snapshot as `DIR/<stem>.jpg` (quality 90), encoded by libifc's [`encode_jpeg`].
pub struct JpegDir {
    dir: PathBuf,
}

impl SnapshotWriter for JpegDir {
    fn write_snapshot(&mut self, stem: &str, rgb: &[u8], width: u32, height: u32) -> Result<(), SinkError> {
        let path = self.dir.join(format!("{stem}.jpg"));
        let err = |e: &dyn std::fmt::Display| SinkError::new(format!("snapshots {}", path.display()), e.to_string());
        let jpeg = encode_jpeg(rgb, width, height, 90).map_err(|e| err(&e))?;
        File::create(&path).and_then(|mut f| f.write_all(&jpeg)).map_err(|e| err(&e))
    }
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// The source's URI and the document as the database keeps them: a camera URL's credentials
/// never reach a file (`rtsp://***@host/…`, as every log line and error writes it).
fn without_credentials(plan: &RunPlan, doc: &PipelineDocument) -> (String, PipelineDocument) {
    let uri = &plan.source.node.uri;
    let Ok(url) = ifc::rtsp::RtspUrl::parse(uri) else { return (uri.clone(), doc.clone()) };
    let redacted = url.to_string();
    let mut doc = doc.clone();
    if let Some(ifc::pipeline::NodeKind::Source(node)) = doc.nodes.get_mut(plan.source.index).map(|n| &mut n.kind) {
        node.uri.clone_from(&redacted);
    }
    (redacted, doc)
}

/// The sinks of a run, and the paths they write (for the summary).
pub type OpenSinks = (Vec<Box<dyn ResultSink>>, Vec<PathBuf>);

/// Opens every sink of every sink node. The JSONL file is replaced; the database gains a run.
pub fn open_sinks(
    plan: &RunPlan,
    doc: &PipelineDocument,
    backend: &str,
    started_at_unix_ms: Option<i64>,
) -> Result<OpenSinks> {
    let mut sinks: Vec<Box<dyn ResultSink>> = Vec::new();
    let mut written = Vec::new();
    for node in &plan.sinks {
        let SinkNode { jsonl, sqlite, snapshots } = &node.node;
        if let Some(path) = jsonl.as_deref().map(PathBuf::from) {
            create_parent(&path)?;
            let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            sinks.push(Box::new(JsonlSink::new(path.display().to_string(), BufWriter::new(file))));
            written.push(path);
        }
        if let Some(path) = sqlite.as_deref().map(PathBuf::from) {
            create_parent(&path)?;
            let store = ResultStore::open(&path)?;
            let model = match &plan.infer.node {
                ifc::pipeline::InferNode::Embedded { model, .. } => model.clone(),
                ifc::pipeline::InferNode::Triton { url, model_name, .. } => format!("{url}/{model_name}"),
            };
            let (source, stored_doc) = without_credentials(plan, doc);
            let info = RunInfo {
                started_at_unix_ms,
                pipeline_name: doc.name.clone(),
                pipeline_json: stored_doc.to_json_string()?,
                source,
                backend: backend.to_owned(),
                model,
            };
            sinks.push(Box::new(SqliteSink::new(store, &info)?));
            written.push(path);
        }
        if let Some(s) = snapshots {
            let dir = PathBuf::from(&s.dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            sinks.push(Box::new(SnapshotSink::new(JpegDir { dir: dir.clone() }, s.when, s.max_per_minute)));
            written.push(dir);
        }
    }
    Ok((sinks, written))
}
