//! Products and lots: the product registry, an inspection carrying a product and lot, a line
//! system changing the lot per item through the API, and results, statistics and lots queried
//! per product and lot.

use std::time::Duration;

use ifc_integration_tests::demo::demo_clip;
use ifc_integration_tests::grpc::{pb, Grpc};
use ifc_integration_tests::serve::{wait_for, ServeProcess};
use ifc_integration_tests::serve_steps::{add_camera, add_pipeline};
use serde_json::{json, Value};

fn counts(results: &[Value]) -> (i64, i64) {
    let ng = results.iter().filter(|r| r["verdict"] == "ng").count() as i64;
    (results.len() as i64 - ng, ng)
}

/// A serial with what JSON must escape (pages are built as JSON by the database).
const SERIAL_2: &str = "S-0002 \"二号\" \\ end";

#[test]
fn results_statistics_and_lots_follow_the_product_and_the_lot_each_item_carries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = demo_clip(dir.path());
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();

    // The registry.
    let product = json!({"code": "P-100", "name": "Bracket, left", "description": "stamped steel"});
    let (status, created) = api.post("/api/v1/products", &product);
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["code"].as_str(), created["name"].as_str()), (Some("P-100"), Some("Bracket, left")));
    assert_eq!(api.post("/api/v1/products", &product).0, 409, "a code is unique");
    assert_eq!(api.post("/api/v1/products", &json!({"code": " ", "name": "x"})).0, 422);
    assert_eq!(api.get("/api/v1/products/P-100").1["description"], "stamped steel");
    assert_eq!(api.get("/api/v1/products").1.as_array().map(Vec::len), Some(1));

    // An inspection of P-100, lot L-1; the line system moves it to lot L-2 part way.
    let camera = add_camera(&api, "press-3", "file", clip.to_str().expect("utf-8"));
    let pipeline = add_pipeline(&api);
    let (status, inspection) = api.post(
        "/api/v1/inspections",
        &json!({"camera_id": camera, "pipeline_id": pipeline, "product": "P-100", "lot": "L-1", "serial": "S-0001"}),
    );
    assert_eq!(status, 201, "{inspection}");
    let id = inspection["id"].as_str().expect("id").to_owned();
    let stored = |n: usize| wait_for(Duration::from_secs(60), "results", || (api.all_results(&format!("inspection_id={id}")).len() >= n).then_some(()));
    stored(10);
    let (status, item) = api.request("PUT", &format!("/api/v1/inspections/{id}/item"), Some(&json!({"product": "P-100", "lot": "L-2", "serial": SERIAL_2})));
    assert_eq!(status, 200, "{item}");
    let before_switch = api.all_results(&format!("inspection_id={id}")).len();
    stored(before_switch + 10);
    assert_eq!(api.post(&format!("/api/v1/inspections/{id}/stop"), &json!({})).0, 200);

    let all = api.all_results(&format!("inspection_id={id}"));
    let lot1 = api.all_results("product=P-100&lot=L-1");
    let lot2 = api.all_results("product=P-100&lot=L-2");
    assert!(lot1.len() >= 10 && lot2.len() >= 10, "{} in L-1, {} in L-2", lot1.len(), lot2.len());
    assert_eq!(lot1.len() + lot2.len(), all.len(), "every result carries one of the two lots");
    assert!(lot2.iter().all(|r| r["serial"] == SERIAL_2 && r["product"] == "P-100"), "{:?}", lot2.first());
    assert!(api.all_results("product=P-999").is_empty(), "a page of none");
    assert!(lot1.iter().map(|r| r["id"].as_i64()).max() < lot2.iter().map(|r| r["id"].as_i64()).min(), "L-2 follows L-1");

    // Lots: counts equal the results', most recent first.
    let (status, lots) = api.get("/api/v1/lots?product=P-100");
    assert_eq!(status, 200, "{lots}");
    let lots = lots.as_array().expect("array");
    assert_eq!(lots.iter().map(|l| l["lot"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["L-2", "L-1"]);
    for (lot, results) in [(&lots[0], &lot2), (&lots[1], &lot1)] {
        let (ok, ng) = counts(results);
        assert_eq!((lot["ok"].as_i64(), lot["ng"].as_i64()), (Some(ok), Some(ng)), "{lot}");
        let stats = api.get(&format!("/api/v1/statistics?product=P-100&lot={}&window_ms=3600000", lot["lot"].as_str().expect("lot"))).1;
        assert_eq!((stats["ok"].as_i64(), stats["ng"].as_i64()), (Some(ok), Some(ng)), "{stats}");
    }
    // gRPC gives the same lots and the same per-lot results.
    let grpc = Grpc::connect(server.addr).expect("gRPC connects").with_token(api.token.as_deref().expect("token"));
    let reply = grpc
        .run(pb::products_client::ProductsClient::new(grpc.channel.clone()).list_lots(grpc.request(pb::ListLotsRequest { product: Some("P-100".into()), limit: None })))
        .expect("ListLots")
        .into_inner();
    let grpc_lots: Vec<(String, i64, i64)> = reply.lots.iter().map(|l| (l.lot.clone(), l.ok, l.ng)).collect();
    let rest_lots: Vec<(String, i64, i64)> =
        lots.iter().map(|l| (l["lot"].as_str().unwrap_or_default().to_owned(), l["ok"].as_i64().unwrap_or(-1), l["ng"].as_i64().unwrap_or(-1))).collect();
    assert_eq!(grpc_lots, rest_lots);
    let page = grpc
        .run(pb::results_client::ResultsClient::new(grpc.channel.clone()).list_results(grpc.request(pb::ListResultsRequest {
            product: Some("P-100".into()),
            lot: Some("L-2".into()),
            limit: Some(1000),
            ..Default::default()
        })))
        .expect("ListResults")
        .into_inner();
    assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), lot2.iter().filter_map(|r| r["id"].as_i64()).collect::<Vec<_>>());
    assert_eq!(api.get("/api/v1/lots?product=P-999").1, json!([]));
    assert_eq!(api.get("/api/v1/lots?limit=0").0, 422);

    // Removing the product from the registry keeps what the results say.
    assert_eq!(api.request("DELETE", "/api/v1/products/P-100", None).0, 204);
    assert_eq!(api.get("/api/v1/products/P-100").0, 404);
    assert_eq!(api.all_results("product=P-100").len(), all.len());
}
