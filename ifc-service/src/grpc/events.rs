//! `ifc.v1.Events.Watch`: the event feed ([`crate::api::feed`], the WebSocket's too) as a
//! server stream.

use std::pin::Pin;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::convert::json_text;
use super::pb::{self, events_server::Events};
use super::GrpcApi;
use crate::api::feed::{self, FeedItem};

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Events for GrpcApi {
    type WatchStream = EventStream;

    async fn watch(&self, request: Request<pb::WatchRequest>) -> Result<Response<EventStream>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::WatchRequest { after_event_id, topics } = request.into_inner();
        let sub = feed::subscription(&self.state, &caller, after_event_id.as_deref(), topics).await?;
        let items = ReceiverStream::new(feed::start(self.state.clone(), sub));
        Ok(Response::new(Box::pin(items.map(message))))
    }
}

/// One feed item as a stream item: an event, or the status that ends the stream.
// The item type tonic's server streams require (`Status` by value).
#[allow(clippy::result_large_err)]
fn message(item: FeedItem) -> Result<pb::Event, Status> {
    match item {
        FeedItem::Event(e) => Ok(pb::Event {
            id: e.id.clone(),
            seq: e.seq,
            topic: e.topic.clone(),
            key: e.key.clone(),
            created_at_ms: e.created_at_ms,
            payload_json: json_text(&e.payload),
        }),
        FeedItem::Lagged => Err(Status::resource_exhausted(
            "too slow for the live feed: resume with after_event_id = the last event's id",
        )),
        FeedItem::Unavailable => Err(Status::unavailable("the metadata store failed: resume later")),
    }
}
